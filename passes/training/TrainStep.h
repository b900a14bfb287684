// Building a training step from a forward function with a loss.
//
// From `@main(args...) -> (loss, ...)` (loss = result 0, a float scalar; the trained parameters
// are trainableArguments(@main), see passes/autodiff/Autodiff.h) this adds to the module
//
//   @train_step(batch..., params..., state...) -> (loss, params'..., state'...)
//
// where `batch` are @main's other arguments (data, and frozen parameters such as a stored batch)
// in @main's order, `params` the trained parameters in @main's order, and `state` the optimizer
// state: for each parameter its tensors (`<param>.m`, `<param>.v` or `<param>.momentum`), then
// the i64 scalar `step`. Every argument keeps the name of the module parameter it is bound to,
// and the state is added to the module as frozen, zero-initialized parameters, so calling
// @train_step with only its data inputs uses the module's current values.
//
// Inside: the forward and backward pass (differentiate()), once per micro-batch when
// accumulating (GradAccumulation.h), averaged; then clipping by global norm (GradClipping.h);
// then the optimizer update (Optimizer.h). @main is left unchanged.
#pragma once

#include <string>
#include <vector>

#include "ir/Module.h"
#include "passes/training/TrainStepOptions.h"

namespace tessera::passes {

struct TrainStepInfo {
  std::string function;                // the new function's name
  std::vector<std::string> batchArgs;  // its first arguments
  std::vector<std::string> params;     // then these; result 1 + i is the update of params[i]
  std::vector<std::string> state;      // then these; result 1 + params.size() + j
};

// Errors: invalid options, no forward function, the name taken, a loss that is not a float
// scalar, no trainable parameters, a batch that cannot be split, a parameter the loss does not
// depend on differentiably (differentiate()'s error, naming the blocking op).
StatusOr<TrainStepInfo> buildTrainStep(ir::Module& m, const TrainStepOptions& o);

}  // namespace tessera::passes
