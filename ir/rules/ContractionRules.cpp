// Shape rules of the contractions: the general `dot` (explicit batch and contracting dims, in the
// style of XLA's DotGeneral) and `matmul` (numpy/torch style [..., m, k] x [..., k, n]).
//
// Both require equal element types: mixed-precision accumulation is expressed with explicit casts,
// so that every engine agrees on where rounding happens.
#include <set>

#include "ir/Op.h"
#include "ir/rules/RuleUtil.h"

namespace tessera::ir {

namespace {

// Checks that every dim of `dims` is a valid dim of a rank-`rank` operand and that no dim is named
// twice in `dims` or in `taken` (dims already claimed by another list); adds them to `taken`.
Status checkDimList(const InferContext& ctx, const std::string& what,
                    const std::vector<int64_t>& dims, int rank, std::set<int64_t>& taken) {
  for (int64_t d : dims) {
    if (d < 0 || d >= rank)
      return ctx.error(what + " " + intListStr(dims) + ": dim " + std::to_string(d) +
                       " is out of range for rank " + std::to_string(rank));
    if (!taken.insert(d).second)
      return ctx.error(what + " " + intListStr(dims) + ": dim " + std::to_string(d) +
                       " is used more than once");
  }
  return Status::ok();
}

}  // namespace

StatusOr<std::vector<TensorType>> inferDot(const InferContext& ctx) {
  const TensorType& lhs = ctx.operands[0];
  const TensorType& rhs = ctx.operands[1];
  const auto& lb = ctx.op.attrAs<std::vector<int64_t>>("lhs_batch");
  const auto& rb = ctx.op.attrAs<std::vector<int64_t>>("rhs_batch");
  const auto& lc = ctx.op.attrAs<std::vector<int64_t>>("lhs_contract");
  const auto& rc = ctx.op.attrAs<std::vector<int64_t>>("rhs_contract");
  if (lhs.dtype != rhs.dtype)
    return ctx.error("operands must have the same element type, got " + lhs.str() + " and " +
                     rhs.str());
  if (lb.size() != rb.size())
    return ctx.error("lhs_batch " + intListStr(lb) + " and rhs_batch " + intListStr(rb) +
                     " must have the same length");
  if (lc.size() != rc.size())
    return ctx.error("lhs_contract " + intListStr(lc) + " and rhs_contract " + intListStr(rc) +
                     " must have the same length");
  std::set<int64_t> lhsUsed, rhsUsed;
  TRY(checkDimList(ctx, "lhs_batch", lb, lhs.rank(), lhsUsed));
  TRY(checkDimList(ctx, "lhs_contract", lc, lhs.rank(), lhsUsed));
  TRY(checkDimList(ctx, "rhs_batch", rb, rhs.rank(), rhsUsed));
  TRY(checkDimList(ctx, "rhs_contract", rc, rhs.rank(), rhsUsed));
  for (size_t i = 0; i < lb.size(); ++i)
    if (lhs.shape[lb[i]] != rhs.shape[rb[i]])
      return ctx.error("batch dim " + std::to_string(i) + " differs: lhs dim " +
                       std::to_string(lb[i]) + " is " + lhs.shape[lb[i]].str() + ", rhs dim " +
                       std::to_string(rb[i]) + " is " + rhs.shape[rb[i]].str() + " (" +
                       lhs.str() + " x " + rhs.str() + ")");
  for (size_t i = 0; i < lc.size(); ++i)
    if (lhs.shape[lc[i]] != rhs.shape[rc[i]])
      return ctx.error("contracting dim " + std::to_string(i) + " differs: lhs dim " +
                       std::to_string(lc[i]) + " is " + lhs.shape[lc[i]].str() + ", rhs dim " +
                       std::to_string(rc[i]) + " is " + rhs.shape[rc[i]].str() + " (" +
                       lhs.str() + " x " + rhs.str() + ")");
  TensorType out{lhs.dtype, {}};
  for (int64_t d : lb) out.shape.push_back(lhs.shape[d]);
  for (int d = 0; d < lhs.rank(); ++d)
    if (!lhsUsed.count(d)) out.shape.push_back(lhs.shape[d]);
  for (int d = 0; d < rhs.rank(); ++d)
    if (!rhsUsed.count(d)) out.shape.push_back(rhs.shape[d]);
  return std::vector<TensorType>{out};
}

StatusOr<std::vector<TensorType>> inferMatmul(const InferContext& ctx) {
  const TensorType& lhs = ctx.operands[0];
  const TensorType& rhs = ctx.operands[1];
  if (lhs.dtype != rhs.dtype)
    return ctx.error("operands must have the same element type, got " + lhs.str() + " and " +
                     rhs.str());
  if (lhs.rank() < 2) return ctx.error("lhs must have rank >= 2, got " + lhs.str());
  if (rhs.rank() < 2) return ctx.error("rhs must have rank >= 2, got " + rhs.str());
  const Dim& k = lhs.shape[lhs.rank() - 1];
  const Dim& rk = rhs.shape[rhs.rank() - 2];
  if (k != rk)
    return ctx.error("contracting dims differ: lhs " + lhs.str() + " has k=" + k.str() +
                     ", rhs " + rhs.str() + " has k=" + rk.str());
  if (rhs.rank() > 2) {
    // Batched rhs: the batch dims must match one to one (no implicit broadcasting of batches).
    if (rhs.rank() != lhs.rank())
      return ctx.error("batched operands must have the same rank (or a rank-2 rhs), got " +
                       lhs.str() + " and " + rhs.str());
    for (int d = 0; d < lhs.rank() - 2; ++d)
      if (lhs.shape[d] != rhs.shape[d])
        return ctx.error("batch dim " + std::to_string(d) + " differs: " + lhs.shape[d].str() +
                         " vs " + rhs.shape[d].str() + " (" + lhs.str() + " x " + rhs.str() +
                         ")");
  }
  TensorType out = lhs;
  out.shape.back() = rhs.shape.back();
  return std::vector<TensorType>{out};
}

}  // namespace tessera::ir
