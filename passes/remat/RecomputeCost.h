// FLOPs of one op at concrete symbol values: what recomputing it costs.
//
// Contractions count 2 per multiply-add (matmul: 2·M·N·K for each batch; dot: 2 · result elements
// · contracted size); every other op counts one FLOP per result element (data movement included:
// it is memory traffic, not free). This is the measure `remat{mode=auto}` minimizes; the planner's
// device cost model prices time, this only ranks recompute choices.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ir/Op.h"

namespace tessera::passes {

StatusOr<int64_t> opFlops(const ir::Op& op, const std::map<std::string, int64_t>& symbols);

}  // namespace tessera::passes
