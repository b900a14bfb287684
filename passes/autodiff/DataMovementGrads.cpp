// Gradient rules of the data-movement ops: reshape, transpose, broadcast_in_dim, slice, concat
// and pad. Each is linear and only moves elements, so its gradient moves the cotangent back:
// the inverse reshape or permutation, a sum over broadcast dims, zero-filling around a slice,
// and slicing the pieces out of a concat or a pad.
//
// Shapes may be symbolic. pad takes only integer lists, so the slice gradient uses pad when the
// borders are constants and otherwise concatenates `full 0` blocks whose declared types carry
// the symbolic border sizes. Strided slices (stride > 1, which pad cannot express without
// interior padding) spread the cotangent out first: each element gets stride-1 zeros after it
// (reshape to [..., n, 1, ...], pad that unit dim, reshape back, drop the tail). A strided dim's
// extent is constant by the slice shape rule, so this works for any start and operand size.
#include "passes/autodiff/GradBuilders.h"

namespace tessera::passes {

namespace {

using gradb::IntList;

// `v` with dim `axis` of size `size` extended to `total` by zeros: `low` before and
// `total - low - size` after.
StatusOr<ir::Value*> zeroExtend(GradContext& ctx, ir::Value* v, int axis, const ir::Dim& low,
                                const ir::Dim& total) {
  const ir::TensorType& t = v->type();
  ir::Dim high = total - low - t.shape[axis];
  if (low == ir::Dim(0) && high == ir::Dim(0)) return v;
  auto lowC = low.constant(), highC = high.constant();
  if (lowC && highC) {
    IntList lo(t.rank(), 0), hi(t.rank(), 0);
    lo[axis] = *lowC;
    hi[axis] = *highC;
    return ctx.emit(ir::OpKind::Pad, {v}, {{"low", lo}, {"high", hi}});
  }
  std::vector<ir::Value*> parts;
  auto zeros = [&](const ir::Dim& n) -> Status {
    if (n == ir::Dim(0)) return Status::ok();
    ir::TensorType z = t;
    z.shape[axis] = n;
    TRY_ASSIGN(ir::Value * block, ctx.full(z, 0.0));
    parts.push_back(block);
    return Status::ok();
  };
  TRY(zeros(low));
  parts.push_back(v);
  TRY(zeros(high));
  return ctx.emit(ir::OpKind::Concat, parts, {{"axis", int64_t{axis}}});
}

// For a dim sliced with `stride` > 1 into `n` (constant) elements: puts element j of `v` at
// position j * stride of a dim of size (n - 1) * stride + 1, zeros in between.
StatusOr<ir::Value*> spreadStrided(GradContext& ctx, ir::Value* v, int axis, int64_t n,
                                   int64_t stride) {
  ir::TensorType t = v->type();
  ir::TensorType withUnit = t;
  withUnit.shape.insert(withUnit.shape.begin() + axis + 1, ir::Dim(1));
  TRY_ASSIGN(ir::Value * r, gradb::reshape(ctx, v, withUnit));
  IntList lo(withUnit.rank(), 0), hi(withUnit.rank(), 0);
  hi[axis + 1] = stride - 1;
  TRY_ASSIGN(ir::Value * p, ctx.emit(ir::OpKind::Pad, {r}, {{"low", lo}, {"high", hi}}));
  ir::TensorType flat = t;
  flat.shape[axis] = ir::Dim(n * stride);
  TRY_ASSIGN(ir::Value * f, gradb::reshape(ctx, p, flat));
  std::vector<ir::Dim> start(t.rank(), ir::Dim(0)), limit = flat.shape;
  limit[axis] = ir::Dim((n - 1) * stride + 1);
  return ctx.emit(ir::OpKind::Slice, {f}, {{"start", start}, {"limit", limit}});
}

}  // namespace

StatusOr<std::vector<ir::Value*>> gradReshape(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  TRY_ASSIGN(ir::Value * d, gradb::reshape(ctx, g, ctx.op.operand(0)->type()));
  return std::vector<ir::Value*>{d};
}

StatusOr<std::vector<ir::Value*>> gradTranspose(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  const auto& perm = ctx.op.attrAs<IntList>("perm");
  IntList inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int64_t>(i);
  TRY_ASSIGN(ir::Value * d, gradb::transpose(ctx, g, inverse));
  return std::vector<ir::Value*>{d};
}

// Sums the cotangent over the result dims the operand does not map to and over the dims where a
// size-1 operand dim was stretched, then reshapes the dropped unit dims back.
StatusOr<std::vector<ir::Value*>> gradBroadcastInDim(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  const ir::TensorType& in = ctx.op.operand(0)->type();
  const ir::TensorType& out = ctx.op.result()->type();
  const auto& dims = ctx.op.attrAs<IntList>("dims");
  std::vector<bool> keep(out.rank(), false);
  for (size_t i = 0; i < dims.size(); ++i)
    keep[dims[i]] = !(in.shape[i] == ir::Dim(1) && out.shape[dims[i]] != ir::Dim(1));
  IntList axes;
  for (int d = 0; d < out.rank(); ++d)
    if (!keep[d]) axes.push_back(d);
  TRY_ASSIGN(ir::Value * s, gradb::reduceSum(ctx, g, axes));
  TRY_ASSIGN(ir::Value * d, gradb::reshape(ctx, s, in));
  return std::vector<ir::Value*>{d};
}

// Puts the cotangent back where the slice read it from, zeros elsewhere, one dim at a time.
StatusOr<std::vector<ir::Value*>> gradSlice(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  const ir::TensorType& in = ctx.op.operand(0)->type();
  const ir::TensorType& out = ctx.op.result()->type();
  for (const ir::Dim& d : out.shape)
    if (d == ir::Dim(0)) {  // an empty slice reads nothing
      TRY_ASSIGN(ir::Value * z, ctx.full(in, 0.0));
      return std::vector<ir::Value*>{z};
    }
  const auto& start = ctx.op.attrAs<std::vector<ir::Dim>>("start");
  IntList stride(in.rank(), 1);
  if (ctx.op.hasAttr("stride")) stride = ctx.op.attrAs<IntList>("stride");
  ir::Value* cur = g;
  for (int i = 0; i < in.rank(); ++i) {
    if (stride[i] > 1) {
      auto n = out.shape[i].constant();
      if (!n) return ctx.error("strided slice gradient needs a constant result dim " +
                               std::to_string(i) + ", got " + out.str());
      TRY_ASSIGN(cur, spreadStrided(ctx, cur, i, *n, stride[i]));
    }
    TRY_ASSIGN(cur, zeroExtend(ctx, cur, i, start[i], in.shape[i]));
  }
  return std::vector<ir::Value*>{cur};
}

// Each operand's cotangent is its slice of the result cotangent along the concat axis.
StatusOr<std::vector<ir::Value*>> gradConcat(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  const ir::TensorType& out = ctx.op.result()->type();
  int axis = gradb::normalizedAxis(ctx.op.intAttr("axis"), out.rank());
  std::vector<ir::Value*> grads;
  ir::Dim offset(0);
  for (ir::Value* operand : ctx.op.operands()) {
    const ir::TensorType& t = operand->type();
    std::vector<ir::Dim> start(out.rank(), ir::Dim(0)), limit = out.shape;
    start[axis] = offset;
    offset = offset + t.shape[axis];
    limit[axis] = offset;
    if (t == out) {  // the only non-empty piece (or a single operand)
      grads.push_back(g);
      continue;
    }
    TRY_ASSIGN(ir::Value * piece,
               ctx.emit(ir::OpKind::Slice, {g}, {{"start", start}, {"limit", limit}}));
    grads.push_back(piece);
  }
  return grads;
}

StatusOr<std::vector<ir::Value*>> gradPad(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  const ir::TensorType& in = ctx.op.operand(0)->type();
  const auto& low = ctx.op.attrAs<IntList>("low");
  std::vector<ir::Dim> start, limit;
  bool identity = true;
  for (int i = 0; i < in.rank(); ++i) {
    start.push_back(ir::Dim(low[i]));
    limit.push_back(ir::Dim(low[i]) + in.shape[i]);
    identity = identity && limit.back() == g->type().shape[i] && low[i] == 0;
  }
  if (identity) return std::vector<ir::Value*>{g};
  TRY_ASSIGN(ir::Value * d, ctx.emit(ir::OpKind::Slice, {g}, {{"start", start}, {"limit", limit}}));
  return std::vector<ir::Value*>{d};
}

}  // namespace tessera::passes
