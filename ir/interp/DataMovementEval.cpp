// Reference semantics of the data-movement ops: reshape, transpose, broadcast_in_dim, slice,
// concat and pad. None does arithmetic; values are copied exactly (and rounded to the result type,
// a no-op since it equals the operand's).
#include "ir/Op.h"
#include "ir/interp/EvalUtil.h"
#include "ir/interp/Layout.h"

namespace tessera::ir {

namespace {

StatusOr<std::vector<Tensor>> one(Tensor t) { return std::vector<Tensor>{std::move(t)}; }

}  // namespace

StatusOr<std::vector<Tensor>> evalReshape(const EvalContext& ctx) {
  const Tensor& in = *ctx.operands[0];
  if (numElementsOf(ctx.resultShapes[0]) != in.numElements())
    return ctx.error("cannot reshape " + in.shapeStr() + " to " + intListStr(ctx.resultShapes[0]));
  return one(Tensor(ctx.resultDTypes[0], ctx.resultShapes[0], in.data()));
}

StatusOr<std::vector<Tensor>> evalTranspose(const EvalContext& ctx) {
  const auto& perm = ctx.op.attrAs<std::vector<int64_t>>("perm");
  return one(Tensor(ctx.resultDTypes[0], ctx.resultShapes[0],
                    permuteData(*ctx.operands[0], perm)));
}

StatusOr<std::vector<Tensor>> evalBroadcastInDim(const EvalContext& ctx) {
  const Tensor& in = *ctx.operands[0];
  const auto& dims = ctx.op.attrAs<std::vector<int64_t>>("dims");
  const std::vector<int64_t>& outShape = ctx.resultShapes[0];
  std::vector<int64_t> inStrides = in.strides();
  // Stride of each result dim into the operand: 0 for new dims and for stretched size-1 dims.
  std::vector<int64_t> strides(outShape.size(), 0);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t od = in.shape()[i], rd = outShape[dims[i]];
    if (od != rd && od != 1)
      return ctx.error("operand dim " + std::to_string(i) + " of size " + std::to_string(od) +
                       " cannot broadcast to size " + std::to_string(rd));
    strides[dims[i]] = od == 1 ? 0 : inStrides[i];
  }
  std::vector<double> out;
  out.reserve(numElementsOf(outShape));
  for (IndexIterator it(outShape); !it.done(); it.next())
    out.push_back(in[dotIndex(it.index(), strides)]);
  return one(Tensor(ctx.resultDTypes[0], outShape, std::move(out)));
}

StatusOr<std::vector<Tensor>> evalSlice(const EvalContext& ctx) {
  const Tensor& in = *ctx.operands[0];
  const auto& start = ctx.op.attrAs<std::vector<Dim>>("start");
  std::vector<int64_t> stride(in.rank(), 1);
  if (ctx.op.hasAttr("stride")) stride = ctx.op.attrAs<std::vector<int64_t>>("stride");
  const std::vector<int64_t>& outShape = ctx.resultShapes[0];
  std::map<std::string, int64_t> symbols;
  bool bound = false;
  std::vector<int64_t> inStrides = in.strides();
  std::vector<int64_t> strides(in.rank());
  int64_t base = 0;
  for (int i = 0; i < in.rank(); ++i) {
    if (!start[i].isConstant() && !bound) {
      symbols = ctx.symbols ? *ctx.symbols : symbolsFromShapes(ctx);
      bound = true;
    }
    auto s = start[i].evaluate(symbols);
    if (!s.isOk())
      return ctx.error("start of dim " + std::to_string(i) + ": " + s.status().message());
    // The last element read must lie inside the operand.
    int64_t last = *s + (outShape[i] - 1) * stride[i];
    if (*s < 0 || (outShape[i] > 0 && last >= in.shape()[i]))
      return ctx.error("dim " + std::to_string(i) + ": slice from " + std::to_string(*s) +
                       " of " + std::to_string(outShape[i]) + " elements (stride " +
                       std::to_string(stride[i]) + ") is out of range for " + in.shapeStr());
    base += *s * inStrides[i];
    strides[i] = stride[i] * inStrides[i];
  }
  std::vector<double> out;
  out.reserve(numElementsOf(outShape));
  for (IndexIterator it(outShape); !it.done(); it.next())
    out.push_back(in[base + dotIndex(it.index(), strides)]);
  return one(Tensor(ctx.resultDTypes[0], outShape, std::move(out)));
}

StatusOr<std::vector<Tensor>> evalConcat(const EvalContext& ctx) {
  const std::vector<int64_t>& outShape = ctx.resultShapes[0];
  int rank = static_cast<int>(outShape.size());
  int64_t axis = ctx.op.intAttr("axis");
  if (axis < 0) axis += rank;
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= outShape[d];
  for (int d = static_cast<int>(axis) + 1; d < rank; ++d) inner *= outShape[d];
  std::vector<double> out;
  out.reserve(numElementsOf(outShape));
  // Each outer row of the result is the operands' rows laid side by side.
  for (int64_t o = 0; o < outer; ++o)
    for (const Tensor* t : ctx.operands) {
      int64_t chunk = t->shape()[axis] * inner;
      const double* src = t->data().data() + o * chunk;
      out.insert(out.end(), src, src + chunk);
    }
  if (static_cast<int64_t>(out.size()) != numElementsOf(outShape))
    return ctx.error("operand sizes do not add up to the result " + intListStr(outShape));
  return one(Tensor(ctx.resultDTypes[0], outShape, std::move(out)));
}

StatusOr<std::vector<Tensor>> evalPad(const EvalContext& ctx) {
  const Tensor& in = *ctx.operands[0];
  const auto& low = ctx.op.attrAs<std::vector<int64_t>>("low");
  const std::vector<int64_t>& outShape = ctx.resultShapes[0];
  std::vector<double> out(numElementsOf(outShape), ctx.op.floatAttr("value", 0.0));
  std::vector<int64_t> outStrides = rowMajorStrides(outShape);
  int64_t base = 0;
  for (int i = 0; i < in.rank(); ++i) base += low[i] * outStrides[i];
  int64_t j = 0;
  for (IndexIterator it(in.shape()); !it.done(); it.next())
    out[base + dotIndex(it.index(), outStrides)] = in[j++];
  return one(Tensor(ctx.resultDTypes[0], outShape, std::move(out)));
}

}  // namespace tessera::ir
