// Reference semantics of the contractions, dot and matmul.
//
// Both reduce to one kernel: a batch of row-major [m, k] x [k, n] products accumulated in double
// and rounded to the result type once at the end. `dot` first permutes its operands into
// [batch, free, contract] and [batch, contract, free] order; its result layout (batch, lhs free,
// rhs free) is then exactly the kernel's [batch, m, n]. The i-p-j loop order streams rows of the
// rhs and the result, which keeps the interpreter fast enough to run small models.
#include <algorithm>

#include "ir/Op.h"
#include "ir/interp/EvalUtil.h"
#include "ir/interp/Layout.h"

namespace tessera::ir {

namespace {

// c[b] = a[b] x w[b] for b in [0, nb); `wBatchStride` 0 shares one rhs across the batch.
void batchedMatmul(const double* a, const double* w, double* c, int64_t nb, int64_t m, int64_t k,
                   int64_t n, int64_t wBatchStride) {
  for (int64_t b = 0; b < nb; ++b) {
    const double* ab = a + b * m * k;
    const double* wb = w + b * wBatchStride;
    double* cb = c + b * m * n;
    for (int64_t i = 0; i < m; ++i) {
      double* crow = cb + i * n;
      for (int64_t p = 0; p < k; ++p) {
        double av = ab[i * k + p];
        const double* wrow = wb + p * n;
        for (int64_t j = 0; j < n; ++j) crow[j] += av * wrow[j];
      }
    }
  }
}

int64_t product(const std::vector<int64_t>& shape, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= shape[d];
  return n;
}

}  // namespace

StatusOr<std::vector<Tensor>> evalDot(const EvalContext& ctx) {
  const Tensor& lhs = *ctx.operands[0];
  const Tensor& rhs = *ctx.operands[1];
  const auto& lb = ctx.op.attrAs<std::vector<int64_t>>("lhs_batch");
  const auto& rb = ctx.op.attrAs<std::vector<int64_t>>("rhs_batch");
  const auto& lc = ctx.op.attrAs<std::vector<int64_t>>("lhs_contract");
  const auto& rc = ctx.op.attrAs<std::vector<int64_t>>("rhs_contract");
  auto freeDims = [](int rank, const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    std::vector<int64_t> out;
    for (int64_t d = 0; d < rank; ++d)
      if (std::count(a.begin(), a.end(), d) + std::count(b.begin(), b.end(), d) == 0)
        out.push_back(d);
    return out;
  };
  std::vector<int64_t> lf = freeDims(lhs.rank(), lb, lc);
  std::vector<int64_t> rf = freeDims(rhs.rank(), rb, rc);

  std::vector<int64_t> lperm = lb, rperm = rb;
  lperm.insert(lperm.end(), lf.begin(), lf.end());
  lperm.insert(lperm.end(), lc.begin(), lc.end());
  rperm.insert(rperm.end(), rc.begin(), rc.end());
  rperm.insert(rperm.end(), rf.begin(), rf.end());
  std::vector<double> a = permuteData(lhs, lperm);
  std::vector<double> w = permuteData(rhs, rperm);

  int64_t nb = product(lhs.shape(), lb), m = product(lhs.shape(), lf);
  int64_t k = product(lhs.shape(), lc), n = product(rhs.shape(), rf);
  std::vector<double> c(nb * m * n, 0.0);
  batchedMatmul(a.data(), w.data(), c.data(), nb, m, k, n, k * n);
  return std::vector<Tensor>{Tensor(ctx.resultDTypes[0], ctx.resultShapes[0], std::move(c))};
}

StatusOr<std::vector<Tensor>> evalMatmul(const EvalContext& ctx) {
  const Tensor& lhs = *ctx.operands[0];
  const Tensor& rhs = *ctx.operands[1];
  int lr = lhs.rank(), rr = rhs.rank();
  int64_t m = lhs.shape()[lr - 2], k = lhs.shape()[lr - 1], n = rhs.shape()[rr - 1];
  int64_t nb = 1;
  for (int d = 0; d < lr - 2; ++d) nb *= lhs.shape()[d];
  std::vector<double> c(nb * m * n, 0.0);
  batchedMatmul(lhs.data().data(), rhs.data().data(), c.data(), nb, m, k, n,
                rr == 2 ? 0 : k * n);
  return std::vector<Tensor>{Tensor(ctx.resultDTypes[0], ctx.resultShapes[0], std::move(c))};
}

}  // namespace tessera::ir
