// The default remat memory model: the pass-level estimator (RematMemoryModel.h).
#include "passes/remat/RematMemoryModel.h"

#include "passes/memory/MemoryPlan.h"

namespace tessera::passes {

StatusOr<RematMemoryCurve> EstimatorMemoryModel::measure(
    const ir::Function& f, const std::map<std::string, int64_t>& symbols) const {
  RematMemoryCurve out;
  TRY_ASSIGN(out.live, liveBytesCurve(f, symbols));
  TRY_ASSIGN(out.peak, plannedPeak(f, symbols));
  return out;
}

}  // namespace tessera::passes
