// Optimizers as IR: each one emits, for one parameter, the ops of torch.optim's update rule.
//
// The optimizer state is IR too. Per parameter it is a list of tensors of the parameter's type
// (SGD: `momentum` when momentum != 0; AdamW: `m`, `v`), stored as frozen module parameters named
// `<param>.<suffix>` and zero-initialized, plus one shared i64 scalar `step` counting the steps
// already taken. Keeping state as ordinary parameters lets later passes shard it like weights
// (ZeRO) and lets the CLI carry it from step to step like weights.
//
// Hyper-parameters that are compile-time constants become `full` scalars of the parameter's
// dtype. Step-dependent scalars (AdamW's bias corrections) are computed in f64 and cast to the
// parameter's dtype before touching tensors, as torch computes them in Python floats.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "passes/training/IrEmitter.h"
#include "passes/training/TrainStepOptions.h"

namespace tessera::passes {

struct StepCount {
  ir::Value* before = nullptr;  // i64 scalar: steps taken before this one (0 at the first)
  ir::Value* after = nullptr;   // before + 1 (torch's `step` inside its update)
};

struct ParamUpdate {
  ir::Value* param = nullptr;      // the updated parameter
  std::vector<ir::Value*> state;   // the updated state, parallel to stateSuffixes()
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // The per-parameter state tensors, by name suffix (`m`, `v`, `momentum`).
  virtual std::vector<std::string> stateSuffixes() const = 0;
  // Emits the update of `param` given its (averaged, clipped) gradient and current state.
  // `name` is the parameter's name, used to name the new values.
  virtual StatusOr<ParamUpdate> update(IrEmitter& e, const std::string& name, ir::Value* param,
                                       ir::Value* grad, const std::vector<ir::Value*>& state,
                                       const StepCount& step) const = 0;
};

// The optimizer `o` describes; `o` must have passed validate().
std::unique_ptr<Optimizer> makeOptimizer(const OptimizerOptions& o);

// The two implementations, each in its own file.
std::unique_ptr<Optimizer> makeSgd(const OptimizerOptions& o);
std::unique_ptr<Optimizer> makeAdamW(const OptimizerOptions& o);

}  // namespace tessera::passes
