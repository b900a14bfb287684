// Gradient rules of the normalizations and the loss: softmax, log_softmax, layer_norm, rms_norm
// and cross_entropy.
//
// softmax / log_softmax reuse the forward result y. layer_norm and rms_norm recompute their
// statistics (mean, 1/sqrt(var + eps)) from x with reduce ops rather than saving them: the forward
// op does not expose them, and recomputing keeps the forward graph unchanged. Means are taken with
// reduce_mean so that the formulas never need the (possibly symbolic) element count as a value.
// cross_entropy's mean divides by the number of non-ignored targets, computed in the graph
// because it depends on the data.
#include "passes/autodiff/GradBuilders.h"

namespace tessera::passes {

namespace {

using gradb::IntList;

// x's normalized dims [axis, rank) and the leading ones [0, axis), for layer_norm / rms_norm.
struct NormAxes {
  IntList normalized, leading;
};

NormAxes normAxes(const ir::Op& op) {
  int rank = op.operand(0)->type().rank();
  int axis = gradb::normalizedAxis(op.intAttr("axis", -1), rank);
  return {gradb::axisRange(axis, rank), gradb::axisRange(0, axis)};
}

// Shared by layer_norm and rms_norm once xhat (the normalized x) and rstd are rebuilt:
//   a = g * scale;  dx = rstd * (a [- mean(a)] - xhat * mean(a * xhat));  dscale = sum(g * xhat)
// (layer_norm subtracts mean(a) because its xhat is centred: the mean's own derivative).
struct NormGrads {
  ir::Value* dx;
  ir::Value* dscale;
};

StatusOr<NormGrads> normBackward(GradContext& ctx, const NormAxes& ax, ir::Value* g,
                                 ir::Value* xhat, ir::Value* rstd, ir::Value* scale,
                                 bool centred) {
  TRY_ASSIGN(ir::Value * a, gradb::mul(ctx, g, scale));
  TRY_ASSIGN(ir::Value * ax_, gradb::mul(ctx, a, xhat));
  TRY_ASSIGN(ir::Value * meanAx, gradb::reduceMean(ctx, ax_, ax.normalized, true));
  TRY_ASSIGN(ir::Value * proj, gradb::mul(ctx, xhat, meanAx));
  ir::Value* centredA = a;
  if (centred) {
    TRY_ASSIGN(ir::Value * meanA, gradb::reduceMean(ctx, a, ax.normalized, true));
    TRY_ASSIGN(centredA, gradb::sub(ctx, a, meanA));
  }
  TRY_ASSIGN(ir::Value * inner, gradb::sub(ctx, centredA, proj));
  TRY_ASSIGN(ir::Value * dx, gradb::mul(ctx, inner, rstd));
  TRY_ASSIGN(ir::Value * gx, gradb::mul(ctx, g, xhat));
  TRY_ASSIGN(ir::Value * dscale, gradb::reduceSum(ctx, gx, ax.leading));
  return NormGrads{dx, dscale};
}

// rsqrt(v + eps) with eps a scalar of v's element type.
StatusOr<ir::Value*> rsqrtEps(GradContext& ctx, ir::Value* v, double eps) {
  TRY_ASSIGN(ir::Value * e, gradb::scalar(ctx, v->type().dtype, eps));
  TRY_ASSIGN(ir::Value * ve, gradb::add(ctx, v, e));
  return ctx.emit(ir::OpKind::Rsqrt, {ve});
}

}  // namespace

// y = softmax(x): dx = y * (g - sum(g * y)) along the axis.
StatusOr<std::vector<ir::Value*>> gradSoftmax(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  ir::Value* y = ctx.op.result();
  IntList axis{ctx.op.intAttr("axis")};
  TRY_ASSIGN(ir::Value * gy, gradb::mul(ctx, g, y));
  TRY_ASSIGN(ir::Value * s, gradb::reduceSum(ctx, gy, axis, true));
  TRY_ASSIGN(ir::Value * centred, gradb::sub(ctx, g, s));
  TRY_ASSIGN(ir::Value * d, gradb::mul(ctx, y, centred));
  return std::vector<ir::Value*>{d};
}

// y = log_softmax(x): dx = g - exp(y) * sum(g) along the axis.
StatusOr<std::vector<ir::Value*>> gradLogSoftmax(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  IntList axis{ctx.op.intAttr("axis")};
  TRY_ASSIGN(ir::Value * p, ctx.emit(ir::OpKind::Exp, {ctx.op.result()}));
  TRY_ASSIGN(ir::Value * s, gradb::reduceSum(ctx, g, axis, true));
  TRY_ASSIGN(ir::Value * ps, gradb::mul(ctx, p, s));
  TRY_ASSIGN(ir::Value * d, gradb::sub(ctx, g, ps));
  return std::vector<ir::Value*>{d};
}

// y = xhat * scale + bias with xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps) (biased var).
StatusOr<std::vector<ir::Value*>> gradLayerNorm(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  ir::Value* x = ctx.op.operand(0);
  NormAxes ax = normAxes(ctx.op);
  TRY_ASSIGN(ir::Value * mean, gradb::reduceMean(ctx, x, ax.normalized, true));
  TRY_ASSIGN(ir::Value * xc, gradb::sub(ctx, x, mean));
  TRY_ASSIGN(ir::Value * sq, gradb::mul(ctx, xc, xc));
  TRY_ASSIGN(ir::Value * var, gradb::reduceMean(ctx, sq, ax.normalized, true));
  TRY_ASSIGN(ir::Value * rstd, rsqrtEps(ctx, var, ctx.op.floatAttr("eps", 1e-5)));
  TRY_ASSIGN(ir::Value * xhat, gradb::mul(ctx, xc, rstd));
  TRY_ASSIGN(NormGrads n, normBackward(ctx, ax, g, xhat, rstd, ctx.op.operand(1), true));
  TRY_ASSIGN(ir::Value * dbias, gradb::reduceSum(ctx, g, ax.leading));
  return std::vector<ir::Value*>{n.dx, n.dscale, dbias};
}

// y = x * rstd * scale with rstd = 1 / sqrt(mean(x^2) + eps).
StatusOr<std::vector<ir::Value*>> gradRmsNorm(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  ir::Value* x = ctx.op.operand(0);
  NormAxes ax = normAxes(ctx.op);
  TRY_ASSIGN(ir::Value * sq, gradb::mul(ctx, x, x));
  TRY_ASSIGN(ir::Value * ms, gradb::reduceMean(ctx, sq, ax.normalized, true));
  TRY_ASSIGN(ir::Value * rstd, rsqrtEps(ctx, ms, ctx.op.floatAttr("eps", 1e-6)));
  TRY_ASSIGN(ir::Value * xhat, gradb::mul(ctx, x, rstd));
  TRY_ASSIGN(NormGrads n, normBackward(ctx, ax, g, xhat, rstd, ctx.op.operand(1), false));
  return std::vector<ir::Value*>{n.dx, n.dscale};
}

// loss_p = -log_softmax(logits_p)[t_p] for counted positions p (t_p != ignore_index):
//   dlogits_p = (softmax(logits_p) - one_hot(t_p)) * w_p, with w_p = mask_p * g_p for `none`,
//   mask_p * g for `sum` and mask_p * g / sum(mask) for `mean`.
StatusOr<std::vector<ir::Value*>> gradCrossEntropy(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  ir::Value* logits = ctx.op.operand(0);
  ir::Value* targets = ctx.op.operand(1);
  const ir::TensorType& lt = logits->type();
  ir::DType dt = lt.dtype;
  auto reduction = ctx.op.enumAttr("reduction", ir::LossReduction::Mean);
  int64_t ignore = ctx.op.intAttr("ignore_index", -100);

  TRY_ASSIGN(ir::Value * p, ctx.emit(ir::OpKind::Softmax, {logits}, {{"axis", int64_t{-1}}}));
  TRY_ASSIGN(ir::Value * hot, gradb::oneHot(ctx, targets, lt.shape.back(), dt));
  TRY_ASSIGN(ir::Value * diff, gradb::sub(ctx, p, hot));

  TRY_ASSIGN(ir::Value * ign, gradb::scalar(ctx, targets->type().dtype, double(ignore)));
  TRY_ASSIGN(ir::Value * counted,
             ctx.emit(ir::OpKind::Compare, {targets, ign},
                      {{"dir", ir::makeEnum(ir::kCompareDirEnum, ir::CompareDir::Ne)}}));
  TRY_ASSIGN(ir::Value * mask, ctx.emit(ir::OpKind::Cast, {counted}, {{"dtype", dt}}));
  ir::Value* scale = g;  // [...] for none, a scalar otherwise
  if (reduction == ir::LossReduction::Mean) {
    TRY_ASSIGN(ir::Value * count,
               gradb::reduceSum(ctx, mask, gradb::axisRange(0, mask->type().rank())));
    TRY_ASSIGN(scale, gradb::div(ctx, g, count));
  }
  TRY_ASSIGN(ir::Value * w, gradb::mul(ctx, mask, scale));
  TRY_ASSIGN(ir::Value * wcol, gradb::appendUnitDim(ctx, w));
  TRY_ASSIGN(ir::Value * d, gradb::mul(ctx, diff, wcol));
  return std::vector<ir::Value*>{d, nullptr};
}

}  // namespace tessera::passes
