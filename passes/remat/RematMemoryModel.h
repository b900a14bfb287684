// What activation checkpointing plans against: the memory a training step holds at each op, and
// the peak a budget is checked against, at concrete symbol values.
//
// remat{mode=auto} (RematSolver.h) sums per-layer changes of the curve to predict a plan's peak,
// then checks the chosen plan with `measure` on the transformed function and tightens the target
// when the real peak misses the budget. The default model is the pass-level estimator
// (passes/memory/MemoryPlan.h: every value its own buffer, no fusion, no in-place); it is exact
// for its own numbers (its peak is the curve's maximum and per-layer changes add up). Callers
// that can see the real allocator supply their own: `tessera train` plans against the compiled
// engine's buffer plan (launcher/RematChoice.h), which fuses, reuses in place and fragments —
// there the peak may exceed the curve's maximum, which is why the plan is checked.
// passes/ may not depend on codegen/, hence an interface here and the engine model in launcher/.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/Function.h"

namespace tessera::passes {

struct RematMemoryCurve {
  std::vector<int64_t> live;  // bytes live at each op of the function (indexed like f.ops())
  int64_t peak = 0;           // the peak budgets are checked against (>= the curve's maximum)
};

class RematMemoryModel {
 public:
  virtual ~RematMemoryModel() = default;
  // For messages: "the planned-memory estimator", "the engine's buffer plan".
  virtual std::string name() const = 0;
  // Errors: a symbol a shape needs is unbound, or the model cannot plan the function.
  virtual StatusOr<RematMemoryCurve> measure(const ir::Function& f,
                                             const std::map<std::string, int64_t>& symbols) const = 0;
};

// passes/memory/MemoryPlan.h's liveness model: live = liveBytesCurve, peak = plannedPeak.
class EstimatorMemoryModel final : public RematMemoryModel {
 public:
  std::string name() const override { return "the planned-memory estimator"; }
  StatusOr<RematMemoryCurve> measure(const ir::Function& f,
                                     const std::map<std::string, int64_t>& symbols) const override;
};

}  // namespace tessera::passes
