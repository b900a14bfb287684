// Gradient rules of the index-driven ops: gather, scatter_add, top_k and cumsum.
//
// gather and scatter_add are each other's adjoints (same `axis` convention), so each rule is the
// other op. top_k routes the values' cotangent back to the selected positions through a one-hot
// mask of the returned indices (built with iota + compare when the row length is symbolic).
// cumsum's adjoint is the cumsum running the other way, with the same exclusivity.
// Integer operands (indices) and the indices result get no gradient.
#include "passes/autodiff/GradBuilders.h"

namespace tessera::passes {

StatusOr<std::vector<ir::Value*>> gradGather(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  ir::Value* table = ctx.op.operand(0);
  TRY_ASSIGN(ir::Value * zeros, ctx.full(table->type(), 0.0));
  TRY_ASSIGN(ir::Value * d, ctx.emit(ir::OpKind::ScatterAdd, {zeros, ctx.op.operand(1), g},
                                     {{"axis", ctx.op.intAttr("axis")}}));
  return std::vector<ir::Value*>{d, nullptr};
}

// out = base + scatter(updates): base gets g unchanged, updates get g read at the positions
// they were added to.
StatusOr<std::vector<ir::Value*>> gradScatterAdd(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  TRY_ASSIGN(ir::Value * du, ctx.emit(ir::OpKind::Gather, {g, ctx.op.operand(1)},
                                      {{"axis", ctx.op.intAttr("axis")}}));
  return std::vector<ir::Value*>{g, nullptr, du};
}

// values[..., i] = x[..., idx[..., i]]: dx[..., j] = sum_i g[..., i] * (idx[..., i] == j).
StatusOr<std::vector<ir::Value*>> gradTopK(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  const ir::TensorType& x = ctx.op.operand(0)->type();
  // [..., k, N]: row i is the one-hot of the position the i-th value came from.
  TRY_ASSIGN(ir::Value * hot, gradb::oneHot(ctx, ctx.op.result(1), x.shape.back(), x.dtype));
  TRY_ASSIGN(ir::Value * gcol, gradb::appendUnitDim(ctx, g));  // [..., k, 1]
  TRY_ASSIGN(ir::Value * spread, gradb::mul(ctx, hot, gcol));
  TRY_ASSIGN(ir::Value * d, gradb::reduceSum(ctx, spread, {x.rank() - 1}));
  return std::vector<ir::Value*>{d};
}

// An inclusive forward cumsum sums x[i] into every y[j] with j at or after i (in its direction),
// so dx[i] sums g[j] over those j: the inclusive cumsum of g in the other direction. Exclusive
// likewise with strict inequality.
StatusOr<std::vector<ir::Value*>> gradCumsum(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  TRY_ASSIGN(ir::Value * d, ctx.emit(ir::OpKind::Cumsum, {g},
                                     {{"axis", ctx.op.intAttr("axis")},
                                      {"exclusive", ctx.op.boolAttr("exclusive")},
                                      {"reverse", !ctx.op.boolAttr("reverse")}}));
  return std::vector<ir::Value*>{d};
}

}  // namespace tessera::passes
