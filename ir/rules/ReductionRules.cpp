// Shape rules of the reductions: reduce_sum / reduce_max / reduce_mean over a set of axes, and
// argmax along one axis. Axes may be negative (numpy style); keepdims keeps each reduced axis as
// a dimension of size 1 so that the result broadcasts back against the operand.
#include "ir/rules/RuleUtil.h"

#include <set>

#include "ir/Op.h"

namespace tessera::ir {

static Shape reducedShape(const Shape& in, const std::vector<bool>& reduced, bool keepdims) {
  Shape out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!reduced[i]) out.push_back(in[i]);
    else if (keepdims) out.push_back(Dim(1));
  }
  return out;
}

StatusOr<std::vector<TensorType>> inferReduce(const InferContext& ctx) {
  const TensorType& in = ctx.operands[0];
  if (in.dtype == DType::Bool) return ctx.error("operand must be numeric, got " + in.str());
  if (ctx.op.kind() == OpKind::ReduceMean) TRY(requireFloat(ctx, in, "operand"));
  const auto& axes = ctx.op.attrAs<std::vector<int64_t>>("axes");
  std::vector<bool> reduced(in.shape.size(), false);
  for (int64_t a : axes) {
    TRY_ASSIGN(int axis, normalizeAxis(ctx, a, in.rank(), "axis"));
    if (reduced[axis])
      return ctx.error("axes " + intListStr(axes) + " name dimension " + std::to_string(axis) +
                       " twice");
    reduced[axis] = true;
  }
  return std::vector<TensorType>{
      {in.dtype, reducedShape(in.shape, reduced, ctx.op.boolAttr("keepdims"))}};
}

StatusOr<std::vector<TensorType>> inferArgmax(const InferContext& ctx) {
  const TensorType& in = ctx.operands[0];
  if (in.dtype == DType::Bool) return ctx.error("operand must be numeric, got " + in.str());
  TRY_ASSIGN(int axis, normalizeAxis(ctx, ctx.op.intAttr("axis"), in.rank(), "axis"));
  std::vector<bool> reduced(in.shape.size(), false);
  reduced[axis] = true;
  return std::vector<TensorType>{
      {DType::I64, reducedShape(in.shape, reduced, ctx.op.boolAttr("keepdims"))}};
}

}  // namespace tessera::ir
