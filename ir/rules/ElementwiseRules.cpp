// Shape rules of the elementwise ops: unary math, binary arithmetic and comparison with numpy
// broadcasting, select and cast.
//
// Bool tensors carry predicates only (compare produces them, select consumes them); arithmetic on
// them is rejected here so that a stray bool reaching `add` is reported at the op instead of
// silently computing 1 + 1 = 1.
#include "ir/rules/RuleUtil.h"

namespace tessera::ir {

static Status requireNumeric(const InferContext& ctx, const TensorType& t,
                             const std::string& what) {
  if (t.dtype == DType::Bool)
    return ctx.error(what + " must be a numeric tensor, got " + t.str());
  return Status::ok();
}

static Status requireSameDType(const InferContext& ctx, const TensorType& a, const TensorType& b,
                               const std::string& aName, const std::string& bName) {
  if (a.dtype != b.dtype)
    return ctx.error(aName + " and " + bName + " must have the same element type, got " +
                     a.str() + " and " + b.str());
  return Status::ok();
}

StatusOr<std::vector<TensorType>> inferUnary(const InferContext& ctx) {
  TRY(requireNumeric(ctx, ctx.operands[0], "operand"));
  return std::vector<TensorType>{ctx.operands[0]};
}

StatusOr<std::vector<TensorType>> inferUnaryFloat(const InferContext& ctx) {
  TRY(requireFloat(ctx, ctx.operands[0], "operand"));
  return std::vector<TensorType>{ctx.operands[0]};
}

StatusOr<std::vector<TensorType>> inferBinary(const InferContext& ctx) {
  const TensorType& a = ctx.operands[0];
  const TensorType& b = ctx.operands[1];
  TRY(requireSameDType(ctx, a, b, "lhs", "rhs"));
  TRY(requireNumeric(ctx, a, "lhs"));
  TRY_ASSIGN(Shape shape, broadcastShapes(ctx, a.shape, b.shape));
  return std::vector<TensorType>{{a.dtype, std::move(shape)}};
}

StatusOr<std::vector<TensorType>> inferCompare(const InferContext& ctx) {
  const TensorType& a = ctx.operands[0];
  const TensorType& b = ctx.operands[1];
  TRY(requireSameDType(ctx, a, b, "lhs", "rhs"));
  TRY_ASSIGN(Shape shape, broadcastShapes(ctx, a.shape, b.shape));
  return std::vector<TensorType>{{DType::Bool, std::move(shape)}};
}

StatusOr<std::vector<TensorType>> inferSelect(const InferContext& ctx) {
  const TensorType& cond = ctx.operands[0];
  const TensorType& a = ctx.operands[1];
  const TensorType& b = ctx.operands[2];
  if (cond.dtype != DType::Bool)
    return ctx.error("condition must be a bool tensor, got " + cond.str());
  TRY(requireSameDType(ctx, a, b, "on_true", "on_false"));
  TRY_ASSIGN(Shape ab, broadcastShapes(ctx, a.shape, b.shape));
  TRY_ASSIGN(Shape shape, broadcastShapes(ctx, cond.shape, ab));
  return std::vector<TensorType>{{a.dtype, std::move(shape)}};
}

StatusOr<std::vector<TensorType>> inferCast(const InferContext& ctx) {
  DType to = ctx.op.attrAs<DType>("dtype");
  return std::vector<TensorType>{{to, ctx.operands[0].shape}};
}

}  // namespace tessera::ir
