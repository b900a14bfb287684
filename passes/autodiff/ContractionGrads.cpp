// Gradient rules of the contractions: dot (explicit batch / contracting dims) and matmul.
//
// Both are bilinear, so each operand's cotangent is a contraction of the result's cotangent with
// the other operand. For dot the contraction is another dot whose result dims come out as
// (batch, this operand's free dims, the other operand's remaining dims); one transpose then puts
// them back in the operand's own dim order.
#include <algorithm>

#include "passes/autodiff/GradBuilders.h"

namespace tessera::passes {

namespace {

using gradb::IntList;

// The dims of a rank-`rank` operand that are in neither `batch` nor `contract`, ascending: the
// order in which dot lays out that operand's free dims in its result.
IntList freeDims(int rank, const IntList& batch, const IntList& contract) {
  IntList out;
  for (int d = 0; d < rank; ++d)
    if (std::find(batch.begin(), batch.end(), d) == batch.end() &&
        std::find(contract.begin(), contract.end(), d) == contract.end())
      out.push_back(d);
  return out;
}

// Cotangent of one dot operand ("self") given the result cotangent `g` and the other operand.
// g's dims are [batch (nb), lhs free, rhs free]; `selfFreeInG` / `otherFreeInG` say where each
// operand's free dims sit in g. The backward dot contracts g's `otherFreeInG` dims with the
// other operand's free dims; its result is [batch, self free, other's contracting dims in
// ascending order], which a transpose maps back to self's dims.
StatusOr<ir::Value*> dotOperandGrad(GradContext& ctx, ir::Value* g, ir::Value* other, int selfRank,
                                    const IntList& selfBatch, const IntList& selfContract,
                                    const IntList& otherBatch, const IntList& otherContract,
                                    const IntList& selfFree, const IntList& otherFree,
                                    int otherFreeOffsetInG) {
  int nb = static_cast<int>(selfBatch.size());
  IntList gBatch = gradb::axisRange(0, nb);
  IntList gContract;
  for (size_t j = 0; j < otherFree.size(); ++j) gContract.push_back(otherFreeOffsetInG + int(j));
  TRY_ASSIGN(ir::Value * d,
             ctx.emit(ir::OpKind::Dot, {g, other},
                      {{"lhs_batch", gBatch}, {"rhs_batch", otherBatch},
                       {"lhs_contract", gContract}, {"rhs_contract", otherFree}}));
  // Where each of self's dims ended up in `d`.
  IntList sortedOtherContract = otherContract;
  std::sort(sortedOtherContract.begin(), sortedOtherContract.end());
  IntList perm(selfRank, -1);
  for (int i = 0; i < nb; ++i) perm[selfBatch[i]] = i;
  for (size_t j = 0; j < selfFree.size(); ++j) perm[selfFree[j]] = nb + int(j);
  int base = nb + static_cast<int>(selfFree.size());
  for (size_t k = 0; k < selfContract.size(); ++k) {
    auto pos = std::find(sortedOtherContract.begin(), sortedOtherContract.end(), otherContract[k]) -
               sortedOtherContract.begin();
    perm[selfContract[k]] = base + static_cast<int>(pos);
  }
  return gradb::transpose(ctx, d, perm);
}

}  // namespace

StatusOr<std::vector<ir::Value*>> gradDot(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  ir::Value* lhs = ctx.op.operand(0);
  ir::Value* rhs = ctx.op.operand(1);
  const auto& lb = ctx.op.attrAs<IntList>("lhs_batch");
  const auto& rb = ctx.op.attrAs<IntList>("rhs_batch");
  const auto& lc = ctx.op.attrAs<IntList>("lhs_contract");
  const auto& rc = ctx.op.attrAs<IntList>("rhs_contract");
  int lr = lhs->type().rank(), rr = rhs->type().rank();
  IntList lf = freeDims(lr, lb, lc), rf = freeDims(rr, rb, rc);
  int nb = static_cast<int>(lb.size());
  TRY_ASSIGN(ir::Value * dl, dotOperandGrad(ctx, g, rhs, lr, lb, lc, rb, rc, lf, rf,
                                            nb + static_cast<int>(lf.size())));
  TRY_ASSIGN(ir::Value * dr, dotOperandGrad(ctx, g, lhs, rr, rb, rc, lb, lc, rf, lf, nb));
  return std::vector<ir::Value*>{dl, dr};
}

// lhs [..., m, k] x rhs [..., k, n] (or a shared rank-2 rhs [k, n]) -> g [..., m, n]:
//   dlhs = g x rhs^T;  drhs = lhs^T x g, summed over lhs's batch dims when rhs is shared.
StatusOr<std::vector<ir::Value*>> gradMatmul(GradContext& ctx) {
  ir::Value* g = ctx.resultGrads[0];
  if (!g) return gradb::noGrads(ctx);
  ir::Value* lhs = ctx.op.operand(0);
  ir::Value* rhs = ctx.op.operand(1);
  int lr = lhs->type().rank(), rr = rhs->type().rank();
  auto swapLast = [](int rank) {
    IntList perm = gradb::axisRange(0, rank);
    std::swap(perm[rank - 1], perm[rank - 2]);
    return perm;
  };
  TRY_ASSIGN(ir::Value * rhsT, gradb::transpose(ctx, rhs, swapLast(rr)));
  TRY_ASSIGN(ir::Value * dl, ctx.emit(ir::OpKind::Matmul, {g, rhsT}));
  ir::Value* dr = nullptr;
  if (rr == 2) {
    // Contract lhs [..., m, k] with g [..., m, n] over every dim but k and n: [k, n]. This sums
    // the per-batch products, which is what sharing rhs across batches means.
    IntList contract = gradb::axisRange(0, lr - 1);
    TRY_ASSIGN(dr, ctx.emit(ir::OpKind::Dot, {lhs, g},
                            {{"lhs_batch", IntList{}}, {"rhs_batch", IntList{}},
                             {"lhs_contract", contract}, {"rhs_contract", contract}}));
  } else {
    TRY_ASSIGN(ir::Value * lhsT, gradb::transpose(ctx, lhs, swapLast(lr)));
    TRY_ASSIGN(dr, ctx.emit(ir::OpKind::Matmul, {lhsT, g}));
  }
  return std::vector<ir::Value*>{dl, dr};
}

}  // namespace tessera::passes
