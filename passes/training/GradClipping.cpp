// Global-norm gradient clipping (see GradClipping.h).
#include "passes/training/GradClipping.h"

namespace tessera::passes {

using ir::Value;

StatusOr<ClippedGrads> clipByGlobalNorm(IrEmitter& e, const std::vector<Value*>& grads,
                                        double maxNorm) {
  assert(!grads.empty());
  ir::DType acc = grads[0]->type().dtype;
  Value* sumSq = nullptr;
  for (Value* g : grads) {
    TRY_ASSIGN(Value * sq, e.mul(g, g));
    TRY_ASSIGN(Value * s, e.sumAll(sq));
    TRY_ASSIGN(s, e.castIfNeeded(s, acc));
    if (sumSq) {
      TRY_ASSIGN(sumSq, e.add(sumSq, s));
    } else {
      sumSq = s;
    }
  }
  ClippedGrads out;
  TRY_ASSIGN(out.totalNorm, e.sqrt(sumSq, "grad_norm"));
  TRY_ASSIGN(Value * tiny, e.scalar(acc, 1e-6));
  TRY_ASSIGN(Value * denom, e.add(out.totalNorm, tiny));
  TRY_ASSIGN(Value * maxN, e.scalar(acc, maxNorm));
  TRY_ASSIGN(Value * coef, e.div(maxN, denom));
  TRY_ASSIGN(Value * one, e.scalar(acc, 1));
  TRY_ASSIGN(Value * clamped, e.min(coef, one, "clip_coef"));
  for (Value* g : grads) {
    TRY_ASSIGN(Value * c, e.castIfNeeded(clamped, g->type().dtype));
    TRY_ASSIGN(Value * scaled, e.mul(g, c));
    out.grads.push_back(scaled);
  }
  return out;
}

}  // namespace tessera::passes
