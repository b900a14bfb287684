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

// Whether an operand whose `rows` dims form the BLAS matrix's rows and `cols` dims its columns is
// laid out column-first in memory (a transposed read). Dims are followed back through transpose
// ops, which the engine folds into the call as views; interleaved dims the engine copies into
// order first (a plain read).
bool readTransposed(const ir::Value* v, std::vector<int64_t> rows, std::vector<int64_t> cols) {
  while (const ir::Op* d = v->definingOp()) {
    if (d->kind() != ir::OpKind::Transpose) break;
    const auto& perm = d->attrAs<std::vector<int64_t>>("perm");
    for (auto* list : {&rows, &cols})
      for (int64_t& x : *list) x = perm[static_cast<size_t>(x)];
    v = d->operand(0);
  }
  if (rows.empty() || cols.empty()) return false;
  return *std::max_element(cols.begin(), cols.end()) < *std::min_element(rows.begin(), rows.end());
}

// The dims of a rank-`rank` operand that are in none of `a`, `b`.
std::vector<int64_t> otherDims(int rank, const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::vector<int64_t> r;
  for (int64_t i = 0; i < rank; ++i)
    if (std::find(a.begin(), a.end(), i) == a.end() && std::find(b.begin(), b.end(), i) == b.end())
      r.push_back(i);
  return r;
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
      c.batch = std::max(1.0, batch);
      const int lr = op.operand(0)->type().rank(), rr = op.operand(1)->type().rank();
      c.transA = readTransposed(op.operand(0), otherDims(lr, lb, lc), lc);
      c.transB = readTransposed(op.operand(1), rc, otherDims(rr, rb, rc));
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
      c.batch = std::max(1.0, outElems / std::max(1.0, c.m * n));
      {
        const int64_t lr = static_cast<int64_t>(lhsD->size()), rr = static_cast<int64_t>(rhsD->size());
        // A shared rank-2 rhs folds the lhs batch into m: its rows are every dim but the last.
        std::vector<int64_t> lrows;
        for (int64_t i = rr == 2 ? 0 : lr - 2; i < lr - 1; ++i) lrows.push_back(i);
        c.transA = readTransposed(op.operand(0), lrows, {lr - 1});
        c.transB = readTransposed(op.operand(1), {rr - 2}, {rr - 1});
      }
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
  double rate = c.isGemm ? d.peak(c.computeType) * d.gemm.at(c.m, c.n, c.k, c.transA, c.transB) *
                               (c.batch > 1 ? d.gemm.batched : 1.0)
                         : d.vectorPeak;
  double tFlops = c.flops > 0 && rate > 0 ? c.flops / rate : 0;
  double tBytes = c.bytes() / (d.memoryBandwidth * d.memoryEfficiency);
  double tItems = c.isGemm ? c.batch * d.gemm.itemSeconds : 0;
  return std::max(tFlops, tBytes) + tItems + (c.fused ? 0.0 : d.launchOverhead);
}

}  // namespace tessera::partition::cost
