// Per-op costs of a function and the elementwise fusion rule (ProgramCost.h).
#include "partition/cost/ProgramCost.h"

namespace tessera::partition::cost {

namespace {

bool fusibleProducer(const ir::Op& op) {
  if (op.numResults() != 1) return false;
  switch (costCategory(op.kind())) {
    case CostCategory::Elementwise: return true;
    case CostCategory::Creation: return op.kind() != ir::OpKind::Constant;
    case CostCategory::Copy: return op.kind() == ir::OpKind::BroadcastInDim;
    default: return false;
  }
}

bool fusibleConsumer(const ir::Op& op) {
  switch (costCategory(op.kind())) {
    case CostCategory::Elementwise:
    case CostCategory::Reduce:
    case CostCategory::Softmax:
    case CostCategory::Norm:
    case CostCategory::CrossEntropy: return true;
    case CostCategory::Copy: return op.kind() == ir::OpKind::BroadcastInDim;
    default: return false;
  }
}

}  // namespace

StatusOr<std::vector<OpCost>> programCosts(const ir::Function& f, const SymbolValues& syms,
                                           bool fuseElementwise) {
  std::vector<OpCost> costs;
  costs.reserve(f.ops().size());
  for (const auto& op : f.ops()) {
    TRY_ASSIGN(OpCost c, opCost(*op, syms));
    costs.push_back(c);
  }
  if (!fuseElementwise) return costs;
  for (size_t i = 0; i < f.ops().size(); ++i) {
    const ir::Op& p = *f.ops()[i];
    if (!fusibleProducer(p)) continue;
    const ir::Value& v = *p.result(0);
    if (v.uses().size() != 1 || v.uses()[0].user == nullptr) continue;
    const ir::Op& consumer = *v.uses()[0].user;
    if (!fusibleConsumer(consumer)) continue;
    TRY_ASSIGN(double bytes, tensorBytes(v.type(), syms, p.loc()));
    OpCost& pc = costs[i];
    OpCost& cc = costs[f.indexOf(&consumer)];
    pc.bytesWritten = std::max(0.0, pc.bytesWritten - bytes);
    cc.bytesRead = std::max(0.0, cc.bytesRead - bytes);
    pc.fused = true;
  }
  return costs;
}

bool isFusedValue(const ir::Value& v, const std::vector<OpCost>& costs) {
  if (v.isArgument()) return false;
  const ir::Op* def = v.definingOp();
  return costs[def->function()->indexOf(def)].fused;
}

}  // namespace tessera::partition::cost
