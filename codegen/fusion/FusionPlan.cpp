// The engine's fusion plan over the shared grouping rule (see FusionPlan.h).
#include "codegen/fusion/FusionPlan.h"

#include "ir/Module.h"

namespace tessera::codegen {

using ir::OpKind;

namespace {

OpClass classOf(passes::FusionRole role, const ir::Op& op) {
  switch (role) {
    case passes::FusionRole::View: return OpClass::View;
    case passes::FusionRole::Leaf: return OpClass::Leaf;
    case passes::FusionRole::Fused: return OpClass::Fused;
    case passes::FusionRole::Collective: return OpClass::Collective;
    case passes::FusionRole::Dead: return OpClass::Dead;
    case passes::FusionRole::Excluded: return OpClass::Assembled;
    case passes::FusionRole::Other: break;
  }
  const OpKind k = op.kind();
  if ((k == OpKind::Matmul || k == OpKind::Dot) &&
      (op.result()->type().dtype == ir::DType::F32 || op.result()->type().dtype == ir::DType::F64) &&
      op.operand(0)->type().dtype == op.result()->type().dtype &&
      op.operand(1)->type().dtype == op.result()->type().dtype)
    return OpClass::Gemm;
  return OpClass::Library;
}

}  // namespace

int FusionPlan::groupOf(const ir::Op* op) const {
  const ir::Function* f = op->function();
  return opGroup[f->indexOf(op)];
}

bool FusionPlan::isRowLevel(const ir::Value* v) const {
  const ir::Op* def = v->definingOp();
  if (!def) return false;
  int g = groupOf(def);
  if (g < 0) return false;
  const FusionGroup& grp = groups[g];
  ir::Shape full = grp.outer;
  full.push_back(grp.cols);
  return v->type().shape != full;
}

FusionPlan planFusion(const ir::Function& f, bool fuse, const std::set<const ir::Op*>* assembled) {
  passes::FusionGroups g = passes::fusionGroups(f, fuse, assembled);
  FusionPlan plan;
  const int n = f.numOps();
  plan.opClass.resize(n);
  for (int i = 0; i < n; ++i) plan.opClass[i] = classOf(g.role[i], *f.ops()[i]);
  plan.opGroup = std::move(g.group);
  plan.groups = std::move(g.groups);
  // Where each kernel runs: after its last member.
  plan.groupEndingAt.assign(n, -1);
  for (size_t i = 0; i < plan.groups.size(); ++i) {
    const FusionGroup& grp = plan.groups[i];
    if (grp.mergedInto >= 0 || grp.ops.empty()) continue;
    plan.groupEndingAt[f.indexOf(grp.ops.back())] = static_cast<int>(i);
  }
  return plan;
}

}  // namespace tessera::codegen
