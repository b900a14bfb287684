// Shape rules of the ops that normalize along some dims: cumsum, softmax / log_softmax,
// layer_norm, rms_norm, and the cross-entropy loss.
//
// The normalizations keep their operand's type. layer_norm and rms_norm normalize over the
// trailing dims [axis, rank), like torch.nn.LayerNorm(normalized_shape); their scale (and bias)
// carry exactly those dims, and must share the input's element type (mixed precision is written
// with explicit casts).
#include "ir/Op.h"
#include "ir/rules/RuleUtil.h"

namespace tessera::ir {

namespace {

// layer_norm / rms_norm: checks x and its per-feature parameters (scale, then bias if present).
StatusOr<std::vector<TensorType>> inferNorm(const InferContext& ctx,
                                            const std::vector<const char*>& paramNames) {
  const TensorType& x = ctx.operands[0];
  TRY(requireFloat(ctx, x, "input"));
  if (x.rank() < 1) return ctx.error("input must have rank >= 1, got " + x.str());
  TRY_ASSIGN(int axis, normalizeAxis(ctx, ctx.op.intAttr("axis", -1), x.rank()));
  Shape normalized(x.shape.begin() + axis, x.shape.end());
  for (size_t i = 0; i < paramNames.size(); ++i) {
    const TensorType& p = ctx.operands[i + 1];
    std::string name = paramNames[i];
    if (p.dtype != x.dtype)
      return ctx.error(name + " " + p.str() + " must have the element type of the input " +
                       x.str());
    if (p.shape != normalized)
      return ctx.error(name + " " + p.str() + " must have the normalized shape " +
                       shapeStr(normalized) + " (dims [" + std::to_string(axis) + ", " +
                       std::to_string(x.rank()) + ") of " + x.str() + ")");
  }
  if (ctx.op.hasAttr("eps") && !(ctx.op.floatAttr("eps") >= 0))
    return ctx.error("eps must be non-negative");
  return std::vector<TensorType>{x};
}

}  // namespace

StatusOr<std::vector<TensorType>> inferCumsum(const InferContext& ctx) {
  const TensorType& in = ctx.operands[0];
  if (in.dtype == DType::Bool) return ctx.error("operand must be numeric, got " + in.str());
  TRY(normalizeAxis(ctx, ctx.op.intAttr("axis"), in.rank()).status());
  return std::vector<TensorType>{in};
}

// Shared by softmax and log_softmax.
StatusOr<std::vector<TensorType>> inferSoftmax(const InferContext& ctx) {
  const TensorType& in = ctx.operands[0];
  TRY(requireFloat(ctx, in, "operand"));
  TRY(normalizeAxis(ctx, ctx.op.intAttr("axis"), in.rank()).status());
  return std::vector<TensorType>{in};
}

StatusOr<std::vector<TensorType>> inferLayerNorm(const InferContext& ctx) {
  return inferNorm(ctx, {"scale", "bias"});
}

StatusOr<std::vector<TensorType>> inferRmsNorm(const InferContext& ctx) {
  return inferNorm(ctx, {"scale"});
}

StatusOr<std::vector<TensorType>> inferCrossEntropy(const InferContext& ctx) {
  const TensorType& logits = ctx.operands[0];
  const TensorType& targets = ctx.operands[1];
  TRY(requireFloat(ctx, logits, "logits"));
  TRY(requireInteger(ctx, targets, "targets"));
  if (logits.rank() < 1) return ctx.error("logits must have rank >= 1, got " + logits.str());
  Shape positions(logits.shape.begin(), logits.shape.end() - 1);
  if (targets.shape != positions)
    return ctx.error("targets " + targets.str() + " must have shape " + shapeStr(positions) +
                     " (logits " + logits.str() + " without the class dim)");
  auto reduction = ctx.op.enumAttr("reduction", LossReduction::Mean);
  if (reduction == LossReduction::None) return std::vector<TensorType>{{logits.dtype, positions}};
  return std::vector<TensorType>{{logits.dtype, {}}};
}

}  // namespace tessera::ir
