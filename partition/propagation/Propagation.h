// Sharding propagation (SHARDING.md §3): fills every open (`?`) or missing dimension sharding of a
// function from the known ones, through every op's factor map (OpFactors.h), forward and backward
// to a fixed point, and chooses each op's factor → mesh-axes assignment (ShardingPlan.h).
//
// Order of authority for a factor: a user annotation (the IR text), then a preset annotation
// (PropagationOptions::preset, never overriding a user dim), then priority (`{dp:p0}` beats
// `{dp:p1}`), then a direct annotation over one derived through other ops, then lower cost (bytes
// the choice would move by resharding the op's other tensors). Every conflict resolved is recorded
// in ShardingPlan::decisions; an op that can only run with a large tensor fully replicated
// (> largeBytes at the given symbol values, or of unknown size) gets a warning with its location.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ir/Function.h"
#include "ir/Mesh.h"
#include "partition/propagation/ShardingPlan.h"

namespace tessera::partition {

struct PropagationOptions {
  // Preset annotations (partition/presets/): applied only to dims the IR text leaves open.
  std::map<const ir::Value*, ir::Sharding> preset;
  // Symbol values for sizes (cost and the large-tensor threshold). Unbound symbols count as
  // 1024 for cost and make a tensor "large" for warnings.
  std::map<std::string, int64_t> symbolValues;
  int64_t largeBytes = int64_t{1} << 20;
};

// Annotates `f` in place (every value gets a complete sharding on `mesh`) and returns the plan.
// Errors: an annotation that does not fit the mesh or the value's rank (with its location), an op
// whose factor rule fails.
StatusOr<ShardingPlan> propagateShardings(ir::Function& f, const ir::Mesh& mesh,
                                          const PropagationOptions& options = {});

// Propagation over several functions of one module at once (the per-rank programs of a
// pipeline), joined by `transfers`: matched (send, recv) pairs (partition/check/PointToPoint.h),
// each one transfer from the send's operand to the receive's result (OpFactors.h,
// transferFactors), so a received value takes the layout of what was sent — each dp/tp piece goes
// to the same dp/tp coordinate of the peer. Collectives already in the functions keep their own
// axes out of their factors. One plan covers every op of every function.
StatusOr<ShardingPlan> propagateShardingsJointly(
    const std::vector<ir::Function*>& functions, const ir::Mesh& mesh,
    const std::vector<std::pair<const ir::Op*, const ir::Op*>>& transfers,
    const PropagationOptions& options = {});

// Whether splitting `d` over `n` devices is provably even (constants, or symbol facts such as
// `sym B divisible_by 2`).
bool dimDivisibleBy(const ir::Dim& d, int64_t n, const ir::Module* m);

}  // namespace tessera::partition
