// Shape rules of the collectives. Each runs over the group of devices that differ only along
// `axes` of the op's mesh; the group size n is the product of those axes' sizes. Shapes here are
// the per-device (local) shapes: reduce_scatter divides a dim by n, all_gather multiplies it,
// all_to_all does both. Positions (peer, root, permute pairs) are indices within the group.
#include "ir/rules/RuleUtil.h"

#include <set>

#include "ir/Op.h"

namespace tessera::ir {

// Checks the `axes` attribute against the mesh and returns the group size.
static StatusOr<int64_t> groupSize(const InferContext& ctx) {
  TRY_ASSIGN(const Mesh* mesh, ctx.mesh());
  const auto& axes = ctx.op.attrAs<AxisList>("axes").axes;
  if (axes.empty()) return ctx.error("needs at least one mesh axis in axes=[...]");
  std::set<std::string> seen;
  int64_t n = 1;
  for (const std::string& a : axes) {
    std::optional<int64_t> size = mesh->axisSize(a);
    if (!size) return ctx.error("mesh @" + mesh->name + " has no axis '" + a + "'");
    if (!seen.insert(a).second) return ctx.error("axis '" + a + "' is listed twice");
    n *= *size;
  }
  return n;
}

static Status checkPosition(const InferContext& ctx, const char* what, int64_t pos, int64_t n) {
  if (pos < 0 || pos >= n)
    return ctx.error(std::string(what) + " " + std::to_string(pos) +
                     " is out of range for a group of " + std::to_string(n) + " devices");
  return Status::ok();
}

// Divides dim `d` of `shape` by n: a constant must divide exactly; a symbolic dim becomes d/n,
// whose integrality is a fact about the symbols that the verifier checks.
static Status divideDim(const InferContext& ctx, Shape& shape, int d, int64_t n) {
  if (auto c = shape[d].constant(); c && *c % n != 0)
    return ctx.error("dimension " + std::to_string(d) + " of size " + std::to_string(*c) +
                     " is not divisible by the group size " + std::to_string(n));
  shape[d] = shape[d].divide(n);
  return Status::ok();
}

StatusOr<std::vector<TensorType>> inferAllReduce(const InferContext& ctx) {
  TRY(groupSize(ctx).status());
  return std::vector<TensorType>{ctx.operands[0]};
}

StatusOr<std::vector<TensorType>> inferReduceScatter(const InferContext& ctx) {
  TRY_ASSIGN(int64_t n, groupSize(ctx));
  TensorType t = ctx.operands[0];
  TRY_ASSIGN(int d, normalizeAxis(ctx, ctx.op.intAttr("dim"), t.rank(), "dim"));
  TRY(divideDim(ctx, t.shape, d, n));
  return std::vector<TensorType>{std::move(t)};
}

StatusOr<std::vector<TensorType>> inferAllGather(const InferContext& ctx) {
  TRY_ASSIGN(int64_t n, groupSize(ctx));
  TensorType t = ctx.operands[0];
  TRY_ASSIGN(int d, normalizeAxis(ctx, ctx.op.intAttr("dim"), t.rank(), "dim"));
  t.shape[d] = t.shape[d] * Dim(n);
  return std::vector<TensorType>{std::move(t)};
}

StatusOr<std::vector<TensorType>> inferAllToAll(const InferContext& ctx) {
  TRY_ASSIGN(int64_t n, groupSize(ctx));
  TensorType t = ctx.operands[0];
  TRY_ASSIGN(int split, normalizeAxis(ctx, ctx.op.intAttr("split_dim"), t.rank(), "split_dim"));
  TRY_ASSIGN(int concat,
             normalizeAxis(ctx, ctx.op.intAttr("concat_dim"), t.rank(), "concat_dim"));
  TRY(divideDim(ctx, t.shape, split, n));
  t.shape[concat] = t.shape[concat] * Dim(n);
  return std::vector<TensorType>{std::move(t)};
}

StatusOr<std::vector<TensorType>> inferCollectivePermute(const InferContext& ctx) {
  TRY_ASSIGN(int64_t n, groupSize(ctx));
  const auto& pairs = ctx.op.attrAs<std::vector<int64_t>>("pairs");
  if (pairs.size() % 2 != 0)
    return ctx.error("pairs must list (source, target) pairs, got an odd count " +
                     std::to_string(pairs.size()));
  std::set<int64_t> sources, targets;
  for (size_t i = 0; i < pairs.size(); i += 2) {
    TRY(checkPosition(ctx, "source", pairs[i], n));
    TRY(checkPosition(ctx, "target", pairs[i + 1], n));
    if (!sources.insert(pairs[i]).second)
      return ctx.error("source " + std::to_string(pairs[i]) + " appears in more than one pair");
    if (!targets.insert(pairs[i + 1]).second)
      return ctx.error("target " + std::to_string(pairs[i + 1]) +
                       " appears in more than one pair");
  }
  return std::vector<TensorType>{ctx.operands[0]};
}

StatusOr<std::vector<TensorType>> inferSend(const InferContext& ctx) {
  TRY_ASSIGN(int64_t n, groupSize(ctx));
  TRY(checkPosition(ctx, "peer", ctx.op.intAttr("peer"), n));
  return std::vector<TensorType>{};
}

StatusOr<std::vector<TensorType>> inferRecv(const InferContext& ctx) {
  TRY_ASSIGN(int64_t n, groupSize(ctx));
  TRY(checkPosition(ctx, "peer", ctx.op.intAttr("peer"), n));
  TRY_ASSIGN(TensorType t, ctx.requireDeclared(0));
  return std::vector<TensorType>{std::move(t)};
}

StatusOr<std::vector<TensorType>> inferBroadcast(const InferContext& ctx) {
  TRY_ASSIGN(int64_t n, groupSize(ctx));
  TRY(checkPosition(ctx, "root", ctx.op.intAttr("root"), n));
  return std::vector<TensorType>{ctx.operands[0]};
}

// axis_index: an i64 scalar; only the axes are checked (they define the group).
StatusOr<std::vector<TensorType>> inferAxisIndex(const InferContext& ctx) {
  TRY(groupSize(ctx).status());
  return std::vector<TensorType>{TensorType{DType::I64, {}}};
}

}  // namespace tessera::ir
