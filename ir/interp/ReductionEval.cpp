// Reference semantics of reduce_sum / reduce_max / reduce_mean and argmax.
//
// Sums accumulate in double in row-major order of the operand and are rounded once to the result
// type; reduce_max propagates NaN; argmax returns the first index of the maximum (a NaN counts as
// the maximum, as in numpy).
#include <cmath>
#include <limits>

#include "ir/Op.h"
#include "ir/interp/EvalUtil.h"

namespace tessera::ir {

static int normalize(int64_t axis, int rank) {
  int a = static_cast<int>(axis < 0 ? axis + rank : axis);
  assert(a >= 0 && a < rank);  // the shape rule checked it
  return a;
}

StatusOr<std::vector<Tensor>> evalReduce(const EvalContext& ctx) {
  const Tensor& x = *ctx.operands[0];
  const std::vector<int64_t>& inShape = x.shape();
  int rank = x.rank();
  std::vector<bool> reduced(rank, false);
  for (int64_t a : ctx.op.attrAs<std::vector<int64_t>>("axes")) reduced[normalize(a, rank)] = true;

  // The result laid out with reduced dims kept as size 1 (the same row-major order whether or not
  // keepdims is set): each operand element adds into the result at its index with reduced dims 0.
  std::vector<int64_t> kept(inShape);
  int64_t count = 1;
  for (int d = 0; d < rank; ++d)
    if (reduced[d]) {
      count *= inShape[d];
      kept[d] = 1;
    }
  std::vector<int64_t> outStrides = rowMajorStrides(kept);
  for (int d = 0; d < rank; ++d)
    if (reduced[d]) outStrides[d] = 0;

  OpKind kind = ctx.op.kind();
  bool isMax = kind == OpKind::ReduceMax;
  int64_t outCount = numElementsOf(kept);
  if (isMax && count == 0 && outCount > 0)
    return ctx.error("cannot take the maximum over an empty dimension of " + x.shapeStr());
  std::vector<double> acc(outCount, isMax ? -std::numeric_limits<double>::infinity() : 0.0);

  const std::vector<double>& in = x.data();
  std::vector<int64_t> idx(rank, 0);
  int64_t o = 0;
  for (int64_t i = 0; i < x.numElements(); ++i) {
    double v = in[i];
    if (!isMax) acc[o] += v;
    else if (std::isnan(v) || v > acc[o]) acc[o] = std::isnan(acc[o]) ? acc[o] : v;
    // Advance the operand index and the matching result offset together.
    for (int d = rank - 1; d >= 0; --d) {
      o += outStrides[d];
      if (++idx[d] < inShape[d]) break;
      o -= outStrides[d] * inShape[d];
      idx[d] = 0;
    }
  }
  if (kind == OpKind::ReduceMean)
    for (double& v : acc) v /= static_cast<double>(count);
  assert(numElementsOf(ctx.resultShapes[0]) == outCount);
  return std::vector<Tensor>{Tensor(ctx.resultDTypes[0], ctx.resultShapes[0], std::move(acc))};
}

StatusOr<std::vector<Tensor>> evalArgmax(const EvalContext& ctx) {
  const Tensor& x = *ctx.operands[0];
  int axis = normalize(ctx.op.intAttr("axis"), x.rank());
  // View the operand as [outer, n, inner] around the axis.
  int64_t n = x.shape()[axis];
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= x.shape()[d];
  for (int d = axis + 1; d < x.rank(); ++d) inner *= x.shape()[d];
  if (n == 0 && outer * inner > 0)
    return ctx.error("cannot take the argmax over an empty dimension of " + x.shapeStr());
  Tensor out(DType::I64, ctx.resultShapes[0]);
  assert(out.numElements() == outer * inner);
  const std::vector<double>& in = x.data();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      const double* p = in.data() + o * n * inner + j;
      int64_t best = 0;
      for (int64_t k = 1; k < n && !std::isnan(p[best * inner]); ++k)
        if (std::isnan(p[k * inner]) || p[k * inner] > p[best * inner]) best = k;
      out.set(o * inner + j, static_cast<double>(best));
    }
  return std::vector<Tensor>{std::move(out)};
}

}  // namespace tessera::ir
