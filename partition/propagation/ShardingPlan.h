// ShardingPlan: what sharding propagation decided for one function, as a side table the SPMD
// partitioner (partition/spmd/) reads. Contract between propagation (H4a) and partitioning (H4b);
// keep field names stable.
//
// After propagateShardings() succeeds:
//   - every value of the function (arguments, op results) has a complete ir::Sharding (no `?`
//     dims) set with ir::Value::setSharding — that is the layout the value is *stored* in;
//   - every op has an OpSharding here: its factor map and, per factor, the mesh axes that split it.
//     What the op NEEDS of operand o, dim d is factorAxes[factors.operandDims[o][d]] (or no axes for
//     an unmapped dim). When that differs from the operand value's stored sharding, the partitioner
//     reshards (SHARDING.md §4 table). The op's NATURAL result layout is: result dim axes from
//     factorAxes, partial over the axes of every split Reduce* factor (resultPartial) plus the
//     partials passed through by linear operands (passPartial). The result value's stored sharding
//     equals that natural layout (propagation sets it so), so no reshard is needed after an op.
//   - passPartial[o] lists partial axes of operand o that the op consumes as-is, because the op is
//     linear in that operand (FactorMap::operandLinear) and the combination is legal (add/sub: every
//     operand partial the same way; mul: one partial operand; div: only the numerator, ...). Any
//     other partial on an operand must be resolved (all_reduce / reduce_scatter) before the op.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ir/Function.h"
#include "ir/Sharding.h"
#include "partition/OpFactors.h"

namespace tessera::partition {

using AxisList = std::vector<std::string>;
using PartialList = std::vector<std::pair<std::string, ir::PartialKind>>;

struct OpSharding {
  FactorMap factors;
  std::vector<AxisList> factorAxes;       // parallel to factors.factors; empty = not split
  std::vector<PartialList> passPartial;   // per operand: partials passed through unresolved
  std::vector<PartialList> resultPartial; // per result: partials of its natural layout
};

// One conflict resolved by propagation: on `factor` of `op`, `chosen` won over `rejected`.
struct ShardingDecision {
  const ir::Op* op = nullptr;
  std::string factor;
  AxisList chosen;
  AxisList rejected;
  std::string reason;  // "user annotation", "preset", "priority p0 < p1", "cost 1024 < 4096 bytes"
};

struct ShardingWarning {
  Location loc;
  std::string message;  // names the op and the tensor that ends up fully replicated
};

class ShardingPlan {
 public:
  std::string meshName;  // the mesh every sharding refers to
  std::map<const ir::Op*, OpSharding> ops;
  std::vector<ShardingDecision> decisions;
  std::vector<ShardingWarning> warnings;

  const OpSharding* find(const ir::Op* op) const {
    auto it = ops.find(op);
    return it == ops.end() ? nullptr : &it->second;
  }
  // Axes that split dim d of operand o of `op` as the op needs it.
  AxisList operandAxes(const ir::Op* op, int o, int d) const;
  // The full layout `op` needs for operand o (dims from factorAxes, partial = passPartial[o]).
  ir::Sharding requiredOperandSharding(const ir::Op* op, int o) const;
};

}  // namespace tessera::partition
