// Work counts per cost category (OpCosts.def) and the roofline time.
#include "partition/cost/OpCost.h"

#include <algorithm>
#include <cmath>

namespace tessera::partition::cost {

namespace {

struct CostRule {
  bool present = false;
  CostCategory category = CostCategory::Elementwise;
  double flopsPerElement = 0;
};

const std::vector<CostRule>& rules() {
  static const std::vector<CostRule> table = [] {
    std::vector<CostRule> t(ir::allOps().size());
#define OP_COST(id, cat, fpe) \
  t[static_cast<size_t>(ir::OpKind::id)] = CostRule{true, CostCategory::cat, fpe};
#include "partition/cost/OpCosts.def"
    return t;
  }();
  return table;
}

double product(const std::vector<double>& dims, const std::vector<int64_t>& idx) {
  double p = 1;
  for (int64_t i : idx) p *= dims[static_cast<size_t>(i)];
  return p;
}

}  // namespace

CostCategory costCategory(ir::OpKind kind) {
  assert(hasCostRule(kind));
  return rules()[static_cast<size_t>(kind)].category;
}

bool hasCostRule(ir::OpKind kind) {
  size_t i = static_cast<size_t>(kind);
  return i < rules().size() && rules()[i].present;
}

StatusOr<double> tensorElements(const ir::TensorType& t, const SymbolValues& syms,
                                const Location& loc) {
  double n = 1;
  for (const ir::Dim& d : t.shape) {
    StatusOr<int64_t> v = d.evaluate(syms);
    if (!v) return Status::error(loc, "cannot size " + t.str() + ": " + v.status().message());
    n *= static_cast<double>(*v);
  }
  return n;
}

StatusOr<double> tensorBytes(const ir::TensorType& t, const SymbolValues& syms, const Location& loc) {
  TRY_ASSIGN(double n, tensorElements(t, syms, loc));
  return n * ir::dtypeBytes(t.dtype);
}

StatusOr<OpCost> opCost(const ir::Op& op, const SymbolValues& syms) {
  assert(hasCostRule(op.kind()));
  const CostRule& rule = rules()[static_cast<size_t>(op.kind())];
  const Location& loc = op.loc();
  OpCost c;
  std::vector<double> inBytes, inElems;
  for (ir::Value* v : op.operands()) {
    TRY_ASSIGN(double e, tensorElements(v->type(), syms, loc));
    inElems.push_back(e);
    inBytes.push_back(e * ir::dtypeBytes(v->type().dtype));
  }
  double outBytes = 0, outElems = 0;
  for (int i = 0; i < op.numResults(); ++i) {
    TRY_ASSIGN(double e, tensorElements(op.result(i)->type(), syms, loc));
    outElems += e;
    outBytes += e * ir::dtypeBytes(op.result(i)->type().dtype);
  }
  double sumIn = 0;
  for (double b : inBytes) sumIn += b;
  c.computeType = op.numResults() > 0 ? op.result(0)->type().dtype
                                      : op.operand(0)->type().dtype;
  const double fpe = rule.flopsPerElement;
  auto evalDims = [&](const ir::TensorType& t) -> StatusOr<std::vector<double>> {
    std::vector<double> d;
    for (const ir::Dim& x : t.shape) {
      TRY_ASSIGN(int64_t v, x.evaluate(syms));
      d.push_back(static_cast<double>(v));
    }
    return d;
  };
  switch (rule.category) {
    case CostCategory::Elementwise:
      c.flops = fpe * outElems;
      c.bytesRead = sumIn;
      c.bytesWritten = outBytes;
      break;
    case CostCategory::Creation:
      c.flops = fpe * outElems;
      c.bytesWritten = outBytes;
      // A constant is materialized when the program is loaded, not by a kernel each step.
      if (op.kind() == ir::OpKind::Constant) c.launchesKernel = false, c.bytesWritten = 0;
      break;
    case CostCategory::View:
      c.launchesKernel = false;
      break;
    case CostCategory::Copy:
      // A slice reads only what it keeps.
      c.bytesRead = op.kind() == ir::OpKind::Slice ? outBytes : sumIn;
      c.bytesWritten = outBytes;
      break;
    case CostCategory::Reduce:
    case CostCategory::Cumsum:
    case CostCategory::Softmax:
    case CostCategory::Norm:
    case CostCategory::CrossEntropy:
      c.flops = fpe * inElems[0];
      c.bytesRead = sumIn;
      c.bytesWritten = outBytes;
      break;
    case CostCategory::TopK: {
      double k = static_cast<double>(op.intAttr("k", 1));
      c.flops = inElems[0] * std::log2(k + 1);
      c.bytesRead = sumIn;
      c.bytesWritten = outBytes;
      break;
    }
    case CostCategory::Gather:
      // Reads the gathered rows (result-sized) and the indices, not the whole table.
      c.bytesRead = outBytes + inBytes[1];
      c.bytesWritten = outBytes;
      break;
    case CostCategory::ScatterAdd:
      c.flops = inElems[2];
      c.bytesRead = sumIn;
      c.bytesWritten = outBytes;
      break;
    case CostCategory::OneHot:
      c.bytesRead = sumIn;
      c.bytesWritten = outBytes;
      break;
    case CostCategory::Dot: {
      auto lhsD = evalDims(op.operand(0)->type());
      auto rhsD = evalDims(op.operand(1)->type());
      if (!lhsD || !rhsD) return Status::error(loc, "cannot size dot operands");
      using IL = std::vector<int64_t>;
      const IL& lb = op.attrAs<IL>("lhs_batch");
      const IL& lc = op.attrAs<IL>("lhs_contract");
      const IL& rb = op.attrAs<IL>("rhs_batch");
      const IL& rc = op.attrAs<IL>("rhs_contract");
      double lhsAll = product(*lhsD, {}), rhsAll = 1;
      for (double d : *lhsD) lhsAll *= d;
      for (double d : *rhsD) rhsAll *= d;
      double batch = product(*lhsD, lb), k = product(*lhsD, lc);
      double m = lhsAll / std::max(1.0, batch * k);
      double n = rhsAll / std::max(1.0, product(*rhsD, rb) * product(*rhsD, rc));
      c.isGemm = true;
      c.m = m, c.n = n, c.k = k;
      c.flops = 2 * batch * m * n * k;
      c.bytesRead = sumIn;
      c.bytesWritten = outBytes;
      c.computeType = op.operand(0)->type().dtype;
      break;
    }
    case CostCategory::Matmul: {
      auto lhsD = evalDims(op.operand(0)->type());
      auto rhsD = evalDims(op.operand(1)->type());
      if (!lhsD || !rhsD) return Status::error(loc, "cannot size matmul operands");
      double k = lhsD->back(), n = rhsD->back();
      c.isGemm = true;
      c.k = k, c.n = n;
      // A shared rank-2 rhs folds the lhs batch into m (one big GEMM); a batched rhs does not.
      c.m = rhsD->size() == 2 ? inElems[0] / std::max(1.0, k) : (*lhsD)[lhsD->size() - 2];
      c.flops = 2 * outElems * k;
      c.bytesRead = sumIn;
      c.bytesWritten = outBytes;
      c.computeType = op.operand(0)->type().dtype;
      break;
    }
    case CostCategory::Collective:
      c.isCollective = true;
      c.launchesKernel = false;
      break;
  }
  return c;
}

double computeSeconds(const OpCost& c, const DeviceSpec& d) {
  if (!c.launchesKernel || c.isCollective) return 0;
  double rate = c.isGemm ? d.peak(c.computeType) * d.gemm.at(c.m, c.n, c.k) : d.vectorPeak;
  double tFlops = c.flops > 0 && rate > 0 ? c.flops / rate : 0;
  double tBytes = c.bytes() / (d.memoryBandwidth * d.memoryEfficiency);
  return std::max(tFlops, tBytes) + (c.fused ? 0.0 : d.launchOverhead);
}

}  // namespace tessera::partition::cost
