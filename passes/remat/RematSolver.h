// Choosing a remat menu entry (keep / selective / full / mlp) per layer: the least estimated
// recompute time (RecomputeCost.h: GEMM FLOPs at a GEMM rate, other ops' bytes at a bandwidth;
// ties: fewer FLOPs) whose planned peak (passes/memory/MemoryPlan.h) fits a budget — exactly, by
// dynamic programming over the layers. Time, not FLOPs: a selective recompute is almost free in
// FLOPs but its softmax/GELU kernels are memory bound, so a FLOP count ranks it too cheap against
// recomputing GEMMs.
//
// Measuring. The planned live bytes are counted per op of the original function ("anchor"); the
// clones inserted before an anchor are folded into it (its value is the largest of theirs and its
// own). With that, the live bytes at anchor t under choices c are exactly
//     base(t) + sum over layers l of delta_l(t, c_l)
// where base is the curve with every layer kept and delta_l(t, c) what choosing c for layer l
// alone changes at t: each value's lifetime depends only on its own layer's choice (a layer's
// recomputed values are read by that layer's forward and backward ops only, and its clones by its
// own backward ops), and clones of one layer sit before anchors no other layer clones before. So
// one copy of the function per (layer, menu entry) measures everything, and the pass checks the
// final plan's real planned peak against the prediction.
//
// Solving (Rotor/Checkmate-style on a chain, exact). Layers are decided in order; a partial plan
// is its partial sums at the anchors later layers still change, the largest live bytes at the
// anchors no later layer changes (already final), and its cost (estimated nanoseconds, then
// FLOPs, compared in that order). A partial plan that is no better than another in all three is
// dropped — every completion of it is matched by the same
// completion of the other — so what remains at the end contains an optimal plan. On a chain of
// layers the partial sums at later anchors are all one number (the activation bytes the earlier
// layers keep stored), so the frontier stays small; on any other shape the method stays exact
// and only gets slower.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/Function.h"
#include "passes/remat/RecomputeCost.h"
#include "passes/remat/RematLayers.h"
#include "passes/remat/RematMemoryModel.h"

namespace tessera::passes {

struct RematCosts {
  struct Entry {
    std::vector<std::pair<int, int64_t>> delta;  // (anchor, bytes) where it is nonzero
    int64_t flops = 0;
    int64_t nanos = 0;  // estimated recompute time (RematApplied::nanos)
  };
  std::vector<int64_t> base;                 // per anchor, every layer kept
  std::vector<std::array<Entry, kRematMenuSize>> layers;  // indexed by RematChoice
};

struct RematSolution {
  std::vector<RematChoice> choices;
  int64_t peak = 0;   // predicted planned peak
  int64_t flops = 0;  // recomputed FLOPs
  int64_t nanos = 0;  // estimated recompute time
};

// Folds clones into the anchor that follows them (see above). `isClone` is per op of the curve.
std::vector<int64_t> anchorCurve(const std::vector<int64_t>& curve,
                                 const std::vector<bool>& isClone);

// Measures base and every delta on copies of `f` with `model` (default: the estimator), and each
// entry's FLOPs and estimated time at `rates` (default: RecomputeRates{}).
// Errors: an unbound symbol (names the value), or the model's own.
StatusOr<RematCosts> measureRematCosts(const ir::Function& f, const RematLayers& layers,
                                       const std::map<std::string, int64_t>& symbols);
StatusOr<RematCosts> measureRematCosts(const ir::Function& f, const RematLayers& layers,
                                       const std::map<std::string, int64_t>& symbols,
                                       const RematMemoryModel& model);
StatusOr<RematCosts> measureRematCosts(const ir::Function& f, const RematLayers& layers,
                                       const std::map<std::string, int64_t>& symbols,
                                       const RematMemoryModel& model, const RecomputeRates& rates);

// The predicted peak of a full choice vector (for tests and reports).
int64_t predictedPeak(const RematCosts& costs, const std::vector<RematChoice>& choices);

// Least estimated time with predicted peak <= budget (ties: fewer FLOPs, then the lower peak);
// nullopt if none fits. With every entry's nanos 0 (hand-built costs) this is the fewest FLOPs.
std::optional<RematSolution> solveMinRecompute(const RematCosts& costs, int64_t budget);
// The lowest predicted peak any plan reaches.
RematSolution solveMinPeak(const RematCosts& costs);

}  // namespace tessera::passes
