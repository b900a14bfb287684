// Reference semantics of constant, iota and full.
#include "ir/Op.h"
#include "ir/interp/EvalUtil.h"

namespace tessera::ir {

StatusOr<std::vector<Tensor>> evalConstant(const EvalContext& ctx) {
  const Tensor& value = *ctx.op.attrAs<TensorAttr>("value").value;
  assert(value.shape() == ctx.resultShapes[0] && value.dtype() == ctx.resultDTypes[0]);
  return std::vector<Tensor>{value};
}

// Element [i0, ..., in] holds i_dim.
StatusOr<std::vector<Tensor>> evalIota(const EvalContext& ctx) {
  const std::vector<int64_t>& shape = ctx.resultShapes[0];
  auto dim = static_cast<size_t>(ctx.op.intAttr("dim"));
  assert(dim < shape.size());
  Tensor out(ctx.resultDTypes[0], shape);
  // Row-major: the index along `dim` is (flat / stride) % size.
  int64_t stride = rowMajorStrides(shape)[dim];
  int64_t size = shape[dim];
  for (int64_t i = 0; i < out.numElements(); ++i)
    out.set(i, static_cast<double>((i / stride) % size));
  return std::vector<Tensor>{std::move(out)};
}

StatusOr<std::vector<Tensor>> evalFull(const EvalContext& ctx) {
  const std::vector<int64_t>& shape = ctx.resultShapes[0];
  double v = ctx.op.floatAttr("value");
  return std::vector<Tensor>{
      Tensor(ctx.resultDTypes[0], shape, std::vector<double>(numElementsOf(shape), v))};
}

}  // namespace tessera::ir
