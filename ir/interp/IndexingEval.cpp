// Reference semantics of the index-driven ops: gather, scatter_add, one_hot and top_k.
//
// Index conventions, chosen so that a bad token id never silently reads or writes the wrong row:
// - gather and scatter_add: an index outside [0, n) (negative ones included: there is no numpy
//   style wrap-around) is an error that names the op, the index and where it was found.
// - one_hot: an index outside [0, depth) gives an all-zero row, like TensorFlow's tf.one_hot and
//   ONNX OneHot for indices above the depth (torch raises instead). Masks built with one_hot rely
//   on this, e.g. for padding ids.
// - top_k: descending values; equal values keep the lower index first; NaN ranks above every
//   number (as in torch.topk).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "ir/Op.h"
#include "ir/interp/EvalUtil.h"

namespace tessera::ir {

namespace {

// Sizes of table dims before `axis`, at `axis`, and after it.
struct AxisSplit {
  int64_t outer = 1, len = 1, inner = 1;
};

AxisSplit splitAt(const std::vector<int64_t>& shape, int64_t axis) {
  AxisSplit s;
  int rank = static_cast<int>(shape.size());
  if (axis < 0) axis += rank;
  for (int d = 0; d < rank; ++d) {
    if (d < axis) s.outer *= shape[d];
    else if (d == axis) s.len = shape[d];
    else s.inner *= shape[d];
  }
  return s;
}

// The index at flat position `j` of `idx` as a row number, or an error naming it.
StatusOr<int64_t> rowIndex(const EvalContext& ctx, const Tensor& idx, int64_t j, int64_t n) {
  double v = idx[j];
  if (v < 0 || v >= static_cast<double>(n))
    return ctx.error("index " + std::to_string(static_cast<int64_t>(v)) + " at flat position " +
                     std::to_string(j) + " of the indices " + idx.shapeStr() +
                     " is out of range [0, " + std::to_string(n) + ")");
  return static_cast<int64_t>(v);
}

StatusOr<std::vector<Tensor>> one(Tensor t) { return std::vector<Tensor>{std::move(t)}; }

}  // namespace

StatusOr<std::vector<Tensor>> evalGather(const EvalContext& ctx) {
  const Tensor& table = *ctx.operands[0];
  const Tensor& idx = *ctx.operands[1];
  AxisSplit s = splitAt(table.shape(), ctx.op.intAttr("axis"));
  int64_t nIdx = idx.numElements();
  std::vector<double> out;
  out.reserve(s.outer * nIdx * s.inner);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t j = 0; j < nIdx; ++j) {
      TRY_ASSIGN(int64_t row, rowIndex(ctx, idx, j, s.len));
      const double* src = table.data().data() + (o * s.len + row) * s.inner;
      out.insert(out.end(), src, src + s.inner);
    }
  return one(Tensor(ctx.resultDTypes[0], ctx.resultShapes[0], std::move(out)));
}

StatusOr<std::vector<Tensor>> evalScatterAdd(const EvalContext& ctx) {
  const Tensor& base = *ctx.operands[0];
  const Tensor& idx = *ctx.operands[1];
  const Tensor& updates = *ctx.operands[2];
  AxisSplit s = splitAt(base.shape(), ctx.op.intAttr("axis"));
  int64_t nIdx = idx.numElements();
  // Accumulate in double and round once, so the result does not depend on how many updates
  // land on one row beyond the final rounding.
  std::vector<double> acc = base.data();
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t j = 0; j < nIdx; ++j) {
      TRY_ASSIGN(int64_t row, rowIndex(ctx, idx, j, s.len));
      double* dst = acc.data() + (o * s.len + row) * s.inner;
      const double* src = updates.data().data() + (o * nIdx + j) * s.inner;
      for (int64_t i = 0; i < s.inner; ++i) dst[i] += src[i];
    }
  return one(Tensor(ctx.resultDTypes[0], ctx.resultShapes[0], std::move(acc)));
}

StatusOr<std::vector<Tensor>> evalOneHot(const EvalContext& ctx) {
  const Tensor& idx = *ctx.operands[0];
  int64_t depth = ctx.op.intAttr("depth");
  std::vector<double> out(idx.numElements() * depth, 0.0);
  for (int64_t j = 0; j < idx.numElements(); ++j) {
    double v = idx[j];
    if (v >= 0 && v < static_cast<double>(depth)) out[j * depth + static_cast<int64_t>(v)] = 1.0;
  }
  return one(Tensor(ctx.resultDTypes[0], ctx.resultShapes[0], std::move(out)));
}

StatusOr<std::vector<Tensor>> evalTopK(const EvalContext& ctx) {
  const Tensor& in = *ctx.operands[0];
  int64_t k = ctx.op.intAttr("k");
  int64_t n = in.shape().back();
  if (k > n)
    return ctx.error("k=" + std::to_string(k) + " exceeds the last dim of " + in.shapeStr());
  int64_t rows = n == 0 ? 0 : in.numElements() / n;
  std::vector<double> values, indices;
  values.reserve(rows * k);
  indices.reserve(rows * k);
  std::vector<int64_t> order(n);
  for (int64_t r = 0; r < rows; ++r) {
    const double* row = in.data().data() + r * n;
    auto above = [&](int64_t a, int64_t b) {
      double x = row[a], y = row[b];
      if (std::isnan(x)) return !std::isnan(y);
      return x > y;
    };
    std::iota(order.begin(), order.end(), 0);
    // A stable sort keeps equal values in index order.
    std::stable_sort(order.begin(), order.end(), above);
    for (int64_t i = 0; i < k; ++i) {
      values.push_back(row[order[i]]);
      indices.push_back(static_cast<double>(order[i]));
    }
  }
  return std::vector<Tensor>{Tensor(ctx.resultDTypes[0], ctx.resultShapes[0], std::move(values)),
                             Tensor(ctx.resultDTypes[1], ctx.resultShapes[1], std::move(indices))};
}

}  // namespace tessera::ir
