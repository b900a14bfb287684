// Applying a remat plan: per layer, clone the ops its menu choice recomputes, in the backward,
// and point the backward's uses at the clones, so the forward originals die after their last
// forward use.
//
// Each recomputed value is cloned just before its first backward use; a clone's operands are
// clones made earlier (reused, not cloned twice) or stored originals (the layer's inputs, the
// values the choice keeps, parameters). A clone is the same op, with the same attributes and
// types, on the same inputs, so it computes bitwise the same tensor: remat never changes results.
// Clone results are named `<name>.remat` (made unique) when the original is named.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/Function.h"
#include "ir/Module.h"
#include "passes/remat/RecomputeCost.h"
#include "passes/remat/RematLayers.h"

namespace tessera::passes {

struct RematApplied {
  std::vector<const ir::Op*> clones;  // in program order
  std::vector<int64_t> layerFlops;    // recomputed FLOPs per layer (RecomputeCost.h)
  int64_t flops = 0;                  // their sum
  // Estimated recompute time per layer in nanoseconds (RecomputeCost.h; each op's estimate
  // rounded to a nanosecond, so sums are exact and the DP's comparisons do not depend on order).
  std::vector<int64_t> layerNanos;
  int64_t nanos = 0;                  // their sum
};

// `layers` must come from findRematLayers(f) on f as it is now (positions refer to f's ops);
// choices[i] is for layers.layers[i]. FLOPs and estimated time (at `rates`; default rates
// without) are counted at `symbols` when given (else 0).
// Errors (before anything changes): a symbol an op's FLOP count needs is unbound.
StatusOr<RematApplied> applyRemat(ir::Function& f, const RematLayers& layers,
                                  const std::vector<RematChoice>& choices,
                                  const std::map<std::string, int64_t>* symbols);
StatusOr<RematApplied> applyRemat(ir::Function& f, const RematLayers& layers,
                                  const std::vector<RematChoice>& choices,
                                  const std::map<std::string, int64_t>* symbols,
                                  const RecomputeRates& rates);

// A copy of `f` in a fresh module holding copies of the declarations (symbols, meshes,
// parameters; initial values are shared, not copied), for planning on scratch copies.
struct FunctionCopy {
  std::unique_ptr<ir::Module> module;
  ir::Function* function = nullptr;
};
StatusOr<FunctionCopy> copyFunction(const ir::Function& f);

}  // namespace tessera::passes
