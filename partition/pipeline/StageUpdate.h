// The optimizer step of a pipeline stage, as IR: after the flush (every micro-batch's backward
// done and the gradients accumulated), each stage updates the parameters it owns once, with the
// same optimizer code the single-device training step uses (passes/training/Optimizer.h), so the
// two agree op for op.
//
//   @<name>(params..., grads..., state..., step) -> (params'..., state'..., step')
//
// `state` holds, per parameter in order, its tensors by stateSuffixes (SGD with momentum:
// momentum; AdamW: m, v); `step` is the i64 count of steps taken before this one.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ir/Module.h"
#include "passes/training/TrainStepOptions.h"

namespace tessera::partition::pipeline {

struct UpdateFunction {
  std::string function;
  std::vector<std::string> stateSuffixes;
};

// Errors: invalid optimizer options (validate()'s message), the name taken.
StatusOr<UpdateFunction> addUpdateFunction(ir::Module& m, const std::string& name,
                                           const std::vector<std::pair<std::string, ir::TensorType>>& params,
                                           const passes::OptimizerOptions& o);

}  // namespace tessera::partition::pipeline
