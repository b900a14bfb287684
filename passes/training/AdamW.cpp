// torch.optim.AdamW as IR (see Optimizer.h). torch's rule (amsgrad off), per parameter p with
// gradient g, state m and v (zero-initialized) and t = the step number counting this one:
//
//   p = p * (1 - lr * weight_decay)              decoupled weight decay, before the Adam step
//   m = m + (1 - beta1) * (g - m)                (torch's lerp; = beta1*m + (1-beta1)*g)
//   v = beta2 * v + (1 - beta2) * g * g
//   step_size = lr / (1 - beta1^t)               Python floats in torch: f64 here
//   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
//   p = p - step_size * (m / denom)
#include <cmath>

#include "passes/training/Optimizer.h"

namespace tessera::passes {

using ir::DType;
using ir::Value;

namespace {

class AdamW final : public Optimizer {
 public:
  explicit AdamW(const OptimizerOptions& o) : o_(o) {}

  std::vector<std::string> stateSuffixes() const override { return {"m", "v"}; }

  StatusOr<ParamUpdate> update(IrEmitter& e, const std::string& name, Value* p, Value* g,
                               const std::vector<Value*>& state,
                               const StepCount& step) const override {
    const double lr = o_.learningRate();
    const double wd = o_.decay();
    DType dt = p->type().dtype;

    if (lr * wd != 0) {
      TRY_ASSIGN(p, e.scale(p, 1 - lr * wd));
    }

    // First moment: m + (1 - beta1) * (g - m).
    TRY_ASSIGN(Value * gm, e.sub(g, state.at(0)));
    TRY_ASSIGN(Value * gmScaled, e.scale(gm, 1 - o_.beta1));
    TRY_ASSIGN(Value * m, e.add(state.at(0), gmScaled, name + ".m_new"));

    // Second moment: beta2 * v + (1 - beta2) * g * g.
    TRY_ASSIGN(Value * vKept, e.scale(state.at(1), o_.beta2));
    TRY_ASSIGN(Value * g2, e.mul(g, g));
    TRY_ASSIGN(Value * g2Scaled, e.scale(g2, 1 - o_.beta2));
    TRY_ASSIGN(Value * v, e.add(vKept, g2Scaled, name + ".v_new"));

    // Bias corrections, in f64 from the step count.
    TRY_ASSIGN(Value * t, e.cast(step.after, DType::F64));
    TRY_ASSIGN(Value * one, e.scalar(DType::F64, 1));
    TRY_ASSIGN(Value * b1, e.scalar(DType::F64, o_.beta1));
    TRY_ASSIGN(Value * b2, e.scalar(DType::F64, o_.beta2));
    TRY_ASSIGN(Value * b1t, e.pow(b1, t));
    TRY_ASSIGN(Value * b2t, e.pow(b2, t));
    TRY_ASSIGN(Value * bc1, e.sub(one, b1t));
    TRY_ASSIGN(Value * bc2, e.sub(one, b2t));
    TRY_ASSIGN(Value * lr64, e.scalar(DType::F64, lr));
    TRY_ASSIGN(Value * stepSize64, e.div(lr64, bc1));
    TRY_ASSIGN(Value * bc2Sqrt64, e.sqrt(bc2));
    TRY_ASSIGN(Value * stepSize, e.castIfNeeded(stepSize64, dt));
    TRY_ASSIGN(Value * bc2Sqrt, e.castIfNeeded(bc2Sqrt64, dt));

    TRY_ASSIGN(Value * vSqrt, e.sqrt(v));
    TRY_ASSIGN(Value * vHat, e.div(vSqrt, bc2Sqrt));
    TRY_ASSIGN(Value * eps, e.scalar(dt, o_.eps));
    TRY_ASSIGN(Value * denom, e.add(vHat, eps));
    TRY_ASSIGN(Value * ratio, e.div(m, denom));
    TRY_ASSIGN(Value * delta, e.mul(ratio, stepSize));

    ParamUpdate out;
    TRY_ASSIGN(out.param, e.sub(p, delta, name + "_new"));
    out.state = {m, v};
    return out;
  }

 private:
  OptimizerOptions o_;
};

}  // namespace

std::unique_ptr<Optimizer> makeAdamW(const OptimizerOptions& o) {
  return std::make_unique<AdamW>(o);
}

}  // namespace tessera::passes
