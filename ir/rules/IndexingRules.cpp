// Shape rules of the ops driven by index tensors: gather (numpy.take), its adjoint scatter_add,
// one_hot and top_k.
//
// gather/scatter_add replace the dim `axis` of the table by all dims of the index tensor, so an
// embedding lookup is `gather %table, %tokens axis=0` with table [V, H] and tokens [B, S] giving
// [B, S, H]; scatter_add takes updates of exactly that gathered shape.
#include "ir/Op.h"
#include "ir/rules/RuleUtil.h"

namespace tessera::ir {

namespace {

// table.shape[:axis] + indices.shape + table.shape[axis+1:]
Shape gatheredShape(const Shape& table, const Shape& indices, int axis) {
  Shape out(table.begin(), table.begin() + axis);
  out.insert(out.end(), indices.begin(), indices.end());
  out.insert(out.end(), table.begin() + axis + 1, table.end());
  return out;
}

}  // namespace

StatusOr<std::vector<TensorType>> inferGather(const InferContext& ctx) {
  const TensorType& table = ctx.operands[0];
  const TensorType& idx = ctx.operands[1];
  TRY(requireInteger(ctx, idx, "indices"));
  TRY_ASSIGN(int axis, normalizeAxis(ctx, ctx.op.intAttr("axis"), table.rank()));
  return std::vector<TensorType>{{table.dtype, gatheredShape(table.shape, idx.shape, axis)}};
}

StatusOr<std::vector<TensorType>> inferScatterAdd(const InferContext& ctx) {
  const TensorType& base = ctx.operands[0];
  const TensorType& idx = ctx.operands[1];
  const TensorType& updates = ctx.operands[2];
  TRY(requireInteger(ctx, idx, "indices"));
  TRY_ASSIGN(int axis, normalizeAxis(ctx, ctx.op.intAttr("axis"), base.rank()));
  if (updates.dtype != base.dtype)
    return ctx.error("updates " + updates.str() + " must have the element type of base " +
                     base.str());
  Shape expected = gatheredShape(base.shape, idx.shape, axis);
  if (updates.shape != expected)
    return ctx.error("updates " + updates.str() + " must have shape " + shapeStr(expected) +
                     " (base " + base.str() + " with dim " + std::to_string(axis) +
                     " replaced by indices " + idx.str() + ")");
  return std::vector<TensorType>{base};
}

StatusOr<std::vector<TensorType>> inferOneHot(const InferContext& ctx) {
  const TensorType& idx = ctx.operands[0];
  TRY(requireInteger(ctx, idx, "indices"));
  int64_t depth = ctx.op.intAttr("depth");
  if (depth <= 0) return ctx.error("depth must be positive, got " + std::to_string(depth));
  TensorType out{ctx.op.attrAs<DType>("dtype"), idx.shape};
  out.shape.push_back(Dim(depth));
  return std::vector<TensorType>{out};
}

StatusOr<std::vector<TensorType>> inferTopK(const InferContext& ctx) {
  const TensorType& in = ctx.operands[0];
  if (in.rank() < 1) return ctx.error("operand must have rank >= 1, got " + in.str());
  if (in.dtype == DType::Bool) return ctx.error("operand must be numeric, got " + in.str());
  int64_t k = ctx.op.intAttr("k");
  const Dim& last = in.shape.back();
  if (k <= 0) return ctx.error("k must be positive, got " + std::to_string(k));
  if (auto n = last.constant(); n && k > *n)
    return ctx.error("k=" + std::to_string(k) + " exceeds the last dim of " + in.str());
  TensorType values = in;
  values.shape.back() = Dim(k);
  TensorType indices{DType::I64, values.shape};
  return std::vector<TensorType>{values, indices};
}

}  // namespace tessera::ir
