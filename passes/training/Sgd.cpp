// torch.optim.SGD as IR (see Optimizer.h). torch's rule, per parameter p with gradient g:
//
//   if weight_decay != 0: g = g + weight_decay * p
//   if momentum != 0:
//       buf = g                                        at the first step
//       buf = momentum * buf + (1 - dampening) * g     afterwards
//       g = g + momentum * buf   if nesterov   else   g = buf
//   p = p - lr * g
//
// The momentum buffer is zero-initialized state, so with dampening == 0 the general formula
// already gives buf = g at the first step and no select is needed; with dampening != 0 the first
// step is chosen by comparing the step count with 0.
#include "passes/training/Optimizer.h"

namespace tessera::passes {

using ir::Value;

namespace {

class Sgd final : public Optimizer {
 public:
  explicit Sgd(const OptimizerOptions& o) : o_(o) {}

  std::vector<std::string> stateSuffixes() const override {
    if (o_.momentum != 0) return {"momentum"};
    return {};
  }

  StatusOr<ParamUpdate> update(IrEmitter& e, const std::string& name, Value* p, Value* g,
                               const std::vector<Value*>& state,
                               const StepCount& step) const override {
    ParamUpdate out;
    if (double wd = o_.decay(); wd != 0) {
      TRY_ASSIGN(Value * decay, e.scale(p, wd));
      TRY_ASSIGN(g, e.add(g, decay));
    }
    if (o_.momentum != 0) {
      Value* buf = state.at(0);
      TRY_ASSIGN(Value * kept, e.scale(buf, o_.momentum));
      Value* fresh = g;
      if (o_.dampening != 0) {
        TRY_ASSIGN(fresh, e.scale(g, 1 - o_.dampening));
      }
      TRY_ASSIGN(Value * next, e.add(kept, fresh, o_.dampening != 0 ? "" : name + ".momentum_new"));
      if (o_.dampening != 0) {
        TRY_ASSIGN(Value * zero, e.scalar(ir::DType::I64, 0));
        TRY_ASSIGN(Value * first,
                   e.value(ir::OpKind::Compare, {step.before, zero},
                           {{"dir", ir::makeEnum(ir::kCompareDirEnum, ir::CompareDir::Eq)}}));
        TRY_ASSIGN(next, e.value(ir::OpKind::Select, {first, g, next}, {}, {},
                                 name + ".momentum_new"));
      }
      out.state.push_back(next);
      if (o_.nesterov) {
        TRY_ASSIGN(Value * look, e.scale(next, o_.momentum));
        TRY_ASSIGN(g, e.add(g, look));
      } else {
        g = next;
      }
    }
    TRY_ASSIGN(Value * delta, e.scale(g, o_.learningRate()));
    TRY_ASSIGN(out.param, e.sub(p, delta, name + "_new"));
    return out;
  }

 private:
  OptimizerOptions o_;
};

}  // namespace

std::unique_ptr<Optimizer> makeSgd(const OptimizerOptions& o) { return std::make_unique<Sgd>(o); }

}  // namespace tessera::passes
