// Accessors of ShardingPlan: what an op needs of its operands, derived from its factor axes.
#include "partition/propagation/ShardingPlan.h"

#include "ir/Module.h"

namespace tessera::partition {

AxisList ShardingPlan::operandAxes(const ir::Op* op, int o, int d) const {
  const OpSharding* s = find(op);
  assert(s && "op has no sharding in the plan");
  int f = s->factors.operandDims[o][d];
  return f < 0 ? AxisList{} : s->factorAxes[f];
}

ir::Sharding ShardingPlan::requiredOperandSharding(const ir::Op* op, int o) const {
  const OpSharding* s = find(op);
  assert(s && "op has no sharding in the plan");
  ir::Sharding out;
  // Same convention as the values' shardings: no mesh name when it is the module's only mesh.
  const ir::Module* m = op->function() ? op->function()->module() : nullptr;
  const ir::Mesh* dflt = m ? m->defaultMesh() : nullptr;
  out.mesh = dflt && dflt->name == meshName ? "" : meshName;
  for (int d = 0; d < static_cast<int>(s->factors.operandDims[o].size()); ++d)
    out.dims.push_back(ir::DimSharding{operandAxes(op, o, d), false, std::nullopt});
  if (o < static_cast<int>(s->passPartial.size())) out.partial = s->passPartial[o];
  return out;
}

}  // namespace tessera::partition
