// matmul / dot → batched GEMM thunks (see GemmLowering.h).
#include "codegen/fusion/GemmLowering.h"

#include <optional>

#include "ir/Op.h"

namespace tessera::codegen {

namespace {

bool isOne(const ir::Dim& d) { return d == ir::Dim(1); }

struct DotDims {
  std::vector<int64_t> lhsBatch, rhsBatch, lhsContract, rhsContract, lhsFree, rhsFree;
};

std::vector<int64_t> freeDims(int rank, const std::vector<int64_t>& a,
                              const std::vector<int64_t>& b) {
  std::vector<int64_t> out;
  for (int64_t d = 0; d < rank; ++d) {
    bool used = false;
    for (int64_t x : a) used = used || x == d;
    for (int64_t x : b) used = used || x == d;
    if (!used) out.push_back(d);
  }
  return out;
}

std::optional<DotDims> dotDims(const ir::Op& op) {
  const ir::Shape& ls = op.operand(0)->type().shape;
  const ir::Shape& rs = op.operand(1)->type().shape;
  int rl = static_cast<int>(ls.size()), rr = static_cast<int>(rs.size());
  DotDims d;
  if (op.kind() == ir::OpKind::Dot) {
    d.lhsBatch = op.attrAs<std::vector<int64_t>>("lhs_batch");
    d.rhsBatch = op.attrAs<std::vector<int64_t>>("rhs_batch");
    d.lhsContract = op.attrAs<std::vector<int64_t>>("lhs_contract");
    d.rhsContract = op.attrAs<std::vector<int64_t>>("rhs_contract");
    for (auto* v : {&d.lhsBatch, &d.lhsContract})
      for (int64_t& x : *v) x = x < 0 ? x + rl : x;
    for (auto* v : {&d.rhsBatch, &d.rhsContract})
      for (int64_t& x : *v) x = x < 0 ? x + rr : x;
  } else {
    if (rl < 2 || rr < 2) return std::nullopt;
    if (rr == 2) {
      d.lhsContract = {rl - 1};
      d.rhsContract = {0};
    } else {
      if (rr != rl) return std::nullopt;
      for (int i = 0; i + 2 < rl; ++i) {
        if (ls[i] != rs[i]) return std::nullopt;
        d.lhsBatch.push_back(i);
        d.rhsBatch.push_back(i);
      }
      d.lhsContract = {rl - 1};
      d.rhsContract = {rr - 2};
    }
  }
  d.lhsFree = freeDims(rl, d.lhsBatch, d.lhsContract);
  d.rhsFree = freeDims(rr, d.rhsBatch, d.rhsContract);
  return d;
}

struct Collapsed {
  ir::Dim size = ir::Dim(1);
  std::optional<ir::Dim> stride;  // of the innermost non-unit dim; none when every dim is 1
  bool ok = true;
};

Collapsed collapse(const BufferView& v, const std::vector<int64_t>& dims) {
  Collapsed c;
  std::vector<int64_t> ds;
  for (int64_t d : dims) {
    c.size = c.size * v.shape[d];
    if (!isOne(v.shape[d])) ds.push_back(d);
  }
  if (ds.empty()) return c;
  for (size_t k = 0; k < ds.size(); ++k) {
    if (v.strides[ds[k]] == ir::Dim(0)) c.ok = false;
    if (k + 1 < ds.size() && v.strides[ds[k]] != v.strides[ds[k + 1]] * v.shape[ds[k + 1]])
      c.ok = false;
  }
  c.stride = v.strides[ds.back()];
  return c;
}

// The view's dims `rowDims` × `colDims` as a row-major BLAS matrix, possibly transposed.
bool asMatrix(const BufferView& v, const std::vector<int64_t>& rowDims,
              const std::vector<int64_t>& colDims, ir::Dim* rows, ir::Dim* cols, bool* trans,
              ir::Dim* ld) {
  Collapsed r = collapse(v, rowDims), c = collapse(v, colDims);
  if (!r.ok || !c.ok) return false;
  *rows = r.size;
  *cols = c.size;
  if (!c.stride || isOne(*c.stride)) {
    *trans = false;
    *ld = r.stride ? *r.stride : c.size;
    return true;
  }
  if (!r.stride || isOne(*r.stride)) {
    *trans = true;
    *ld = c.stride ? *c.stride : r.size;
    return true;
  }
  return false;
}

// The operand copied into [batch..., rowDims..., colDims...] order; the dim lists renumbered.
BufferView reorder(LoweringContext& cx, const ir::Value* v, std::vector<int64_t>* batch,
                   std::vector<int64_t>* rowDims, std::vector<int64_t>* colDims) {
  BufferView in = cx.viewOf(v);
  BufferView perm = in;
  perm.shape.clear();
  perm.strides.clear();
  std::vector<int64_t> order;
  for (auto* list : {batch, rowDims, colDims})
    for (int64_t& d : *list) {
      perm.shape.push_back(in.shape[d]);
      perm.strides.push_back(in.strides[d]);
      d = static_cast<int64_t>(perm.shape.size()) - 1;
    }
  return cx.copy(perm, v->type().dtype, cx.valueName(v) + ".gemm", MemCategory::Workspace);
}

}  // namespace

bool lowerGemm(const ir::Op& op, LoweringContext& cx) {
  std::optional<DotDims> dd = dotDims(op);
  if (!dd) return false;
  const ir::Value* lhs = op.operand(0);
  const ir::Value* rhs = op.operand(1);
  BufferView a = cx.viewOf(lhs), b = cx.viewOf(rhs);
  GemmInfo g;
  ir::Dim k2, lda, ldb;
  bool transA, transB;
  if (!asMatrix(a, dd->lhsFree, dd->lhsContract, &g.m, &g.k, &transA, &lda)) {
    a = reorder(cx, lhs, &dd->lhsBatch, &dd->lhsFree, &dd->lhsContract);
    bool ok = asMatrix(a, dd->lhsFree, dd->lhsContract, &g.m, &g.k, &transA, &lda);
    assert(ok);
    (void)ok;
  }
  if (!asMatrix(b, dd->rhsContract, dd->rhsFree, &k2, &g.n, &transB, &ldb)) {
    b = reorder(cx, rhs, &dd->rhsBatch, &dd->rhsContract, &dd->rhsFree);
    bool ok = asMatrix(b, dd->rhsContract, dd->rhsFree, &k2, &g.n, &transB, &ldb);
    assert(ok);
    (void)ok;
  }
  g.transA = transA;
  g.transB = transB;
  g.lda = lda;
  g.ldb = ldb;
  g.ldc = g.n;
  const ir::Value* res = op.result();
  // C straight into its destination when it is a matrix with a leading dimension there, or the
  // transpose of one: then the product is computed as C^T = op(B)^T op(A)^T.
  bool swap = false;
  BufferView c;
  std::optional<BufferView> dest = cx.destination(res);
  if (dest) {
    size_t nb = dd->lhsBatch.size(), lf = dd->lhsFree.size(), rf = dd->rhsFree.size();
    std::vector<int64_t> rowDims, colDims;
    for (size_t i = nb; i < nb + lf; ++i) rowDims.push_back(static_cast<int64_t>(i));
    for (size_t i = nb + lf; i < nb + lf + rf; ++i) colDims.push_back(static_cast<int64_t>(i));
    ir::Dim m2, n2, ldc;
    bool transC = false;
    if (asMatrix(*dest, rowDims, colDims, &m2, &n2, &transC, &ldc) && m2 == g.m && n2 == g.n) {
      c = *dest;
      g.ldc = ldc;
      swap = transC;
    } else {
      dest.reset();
    }
  }
  if (!dest)
    c = cx.newBuffer(cx.valueName(res), res->type().dtype, res->type().shape, cx.categoryOf(res));
  c.write = false;
  cx.setView(res, c);
  Thunk t;
  t.kind = ThunkKind::Gemm;
  t.label = std::string("gemm ") + op.mnemonic();
  t.loc = op.loc();
  BufferView va = a, vb = b, vc = c;
  va.shape.clear();
  va.strides.clear();
  vb.shape.clear();
  vb.strides.clear();
  vc.shape.clear();
  vc.strides.clear();
  for (size_t i = 0; i < dd->lhsBatch.size(); ++i) {
    g.batch.push_back(a.shape[dd->lhsBatch[i]]);
    va.shape.push_back(a.shape[dd->lhsBatch[i]]);
    va.strides.push_back(a.strides[dd->lhsBatch[i]]);
    vb.shape.push_back(b.shape[dd->rhsBatch[i]]);
    vb.strides.push_back(b.strides[dd->rhsBatch[i]]);
    vc.shape.push_back(c.shape[i]);
    vc.strides.push_back(c.strides[i]);
  }
  vc.write = true;
  if (swap) {
    std::swap(g.m, g.n);
    std::swap(g.lda, g.ldb);
    bool ta = g.transA;
    g.transA = !g.transB;
    g.transB = !ta;
    t.views = {vb, va, vc};
  } else {
    t.views = {va, vb, vc};
  }
  t.gemm = g;
  cx.exe().thunks.push_back(std::move(t));
  return true;
}

}  // namespace tessera::codegen
