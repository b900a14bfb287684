// Building @train_step (see TrainStep.h).
//
// Everything that can fail on user input happens first, on a scratch copy: @main is copied into
// a scratch module (specialized to the micro-batch size when accumulating) and differentiated
// there. The real module is only changed once that succeeded, so an error leaves it untouched,
// and @main itself is never modified (differentiate() works in place, on the copy).
#include "passes/training/TrainStep.h"

#include <numeric>

#include "passes/DcePass.h"
#include "passes/autodiff/Autodiff.h"
#include "passes/training/FunctionInliner.h"
#include "passes/training/GradAccumulation.h"
#include "passes/training/GradClipping.h"
#include "passes/training/EarlyUpdates.h"
#include "passes/training/Optimizer.h"

namespace tessera::passes {

using ir::Value;

namespace {

Status failAt(const ir::Function& f, const std::string& message) {
  return f.loc.known() ? Status::error(f.loc, message) : Status::error(message);
}

std::string valueLabel(const Value* v) {
  return v->name().empty() ? "" : " (%" + v->name() + ")";
}

// Result 0 must be a float scalar: the error names the value and where it is computed.
Status checkLoss(const ir::Function& f) {
  if (f.results().empty())
    return failAt(f, "@" + f.name() + " returns nothing; its result 0 must be the scalar loss");
  const Value* loss = f.results()[0];
  const ir::TensorType& t = loss->type();
  if (t.rank() == 0 && ir::isFloat(t.dtype)) return Status::ok();
  std::string what = "the loss (result 0 of @" + f.name() + valueLabel(loss) + ") is " + t.str() +
                     "; it must be a float scalar (e.g. reduce the per-example losses with a mean)";
  if (const ir::Op* def = loss->definingOp(); def && def->loc().known())
    return Status::error(def->loc(), what);
  if (f.returnLoc.known()) return Status::error(f.returnLoc, what);
  return failAt(f, what);
}

void requireDivisible(ir::Module& m, const std::string& sym, int k) {
  for (ir::SymbolDecl& s : m.symbols)
    if (s.name == sym) s.divisibleBy = std::lcm(s.divisibleBy, static_cast<int64_t>(k));
}

// A copy of everything but the functions, for the scratch module.
std::unique_ptr<ir::Module> copyDeclarations(const ir::Module& m) {
  auto out = std::make_unique<ir::Module>(m.name);
  out->meshes = m.meshes;
  out->symbols = m.symbols;
  out->params = m.params;
  return out;
}

}  // namespace

StatusOr<TrainStepInfo> buildTrainStep(ir::Module& m, const TrainStepOptions& o) {
  TRY(validate(o));
  ir::Function* f = m.findFunction(o.forward);
  if (!f) return Status::error("the module has no function @" + o.forward + " to train");
  if (m.findFunction(o.name))
    return failAt(*f, "the module already has a function @" + o.name +
                          " (was the training step already built?)");
  TRY(checkLoss(*f));

  std::vector<Value*> trainableArgs = trainableArguments(*f);
  if (trainableArgs.empty())
    return failAt(*f, "@" + f->name() +
                          " has no trainable parameters: no argument is bound to a trainable "
                          "module parameter of the same name");
  std::vector<bool> trainable(f->numArguments(), false);
  for (Value* a : trainableArgs) trainable[a->resultIndex()] = true;

  // Names of the optimizer state, checked against the module before anything changes.
  std::unique_ptr<Optimizer> opt = makeOptimizer(o.optimizer);
  std::vector<std::string> suffixes = opt->stateSuffixes();
  for (Value* p : trainableArgs)
    for (const std::string& s : suffixes)
      if (m.findParam(p->name() + "." + s))
        return failAt(*f, "the module already has a parameter @" + p->name() + "." + s +
                              " (optimizer state; was the training step already built?)");
  auto nameTaken = [&](const std::string& n) {
    if (m.findParam(n)) return true;
    for (int i = 0; i < f->numArguments(); ++i)
      if (f->argument(i)->name() == n) return true;
    return false;
  };
  std::string stepName = "step";
  for (int i = 1; nameTaken(stepName); ++i) stepName = "step." + std::to_string(i);

  TRY_ASSIGN(MicroBatchPlan plan, planMicroBatches(*f, trainable, o.accum));

  // ---- the differentiated micro-batch forward, in a scratch module ----
  std::unique_ptr<ir::Module> scratch = copyDeclarations(m);
  if (plan.subst) requireDivisible(*scratch, plan.subst->symbol, plan.count);
  ir::Function* g = scratch->addFunction(f->name());
  g->loc = f->loc;
  g->returnLoc = f->returnLoc;
  std::vector<Value*> gArgs;
  for (int i = 0; i < f->numArguments(); ++i) {
    const Value* a = f->argument(i);
    gArgs.push_back(g->addArgument(plan.subst ? substitute(a->type(), *plan.subst) : a->type(),
                                   a->name(), a->sharding()));
  }
  TRY_ASSIGN(std::vector<Value*> gResults, inlineFunction(*f, *g, gArgs, plan.subst));
  g->setResults(gResults);
  std::vector<Value*> wrt;
  for (Value* a : trainableArgs) wrt.push_back(gArgs[a->resultIndex()]);
  TRY_ASSIGN(GradientInfo gi, differentiate(*g, 0, wrt));
  (void)gi;

  // ---- from here on the real module changes ----
  if (plan.subst) requireDivisible(m, plan.subst->symbol, plan.count);
  TrainStepInfo info;
  info.function = o.name;
  ir::Function* ts = m.addFunction(o.name);
  ts->loc = f->loc;
  ts->returnLoc = f->returnLoc;

  std::vector<Value*> forwardArgs(f->numArguments(), nullptr);
  for (int i = 0; i < f->numArguments(); ++i) {
    if (trainable[i]) continue;
    const Value* a = f->argument(i);
    forwardArgs[i] = ts->addArgument(a->type(), a->name(), a->sharding());
    info.batchArgs.push_back(a->name());
  }
  std::vector<Value*> params;
  for (Value* a : trainableArgs) {
    params.push_back(ts->addArgument(a->type(), a->name(), a->sharding()));
    forwardArgs[a->resultIndex()] = params.back();
    info.params.push_back(a->name());
  }

  // Optimizer state: arguments of @train_step and frozen, zero-initialized module parameters.
  // The state takes its parameter's shardings, so it starts out laid out like the weight.
  auto addState = [&](const std::string& name, const ir::TensorType& type,
                      const std::optional<ir::Sharding>& argSharding,
                      const std::optional<ir::Sharding>& paramSharding,
                      std::shared_ptr<const ir::Tensor> init) {
    Value* v = ts->addArgument(type, name, argSharding);
    ir::Parameter p;
    p.name = name;
    p.type = type;
    p.sharding = paramSharding;
    p.init = std::move(init);
    p.trainable = false;
    p.loc = f->loc;
    m.params.push_back(std::move(p));
    info.state.push_back(name);
    return v;
  };
  std::vector<std::vector<Value*>> state(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const ir::Parameter* p = m.findParam(params[i]->name());
    assert(p && "a trainable argument is bound to a module parameter");
    std::shared_ptr<const ir::Tensor> zeros;
    if (p->init) zeros = std::make_shared<ir::Tensor>(p->init->dtype(), p->init->shape());
    std::optional<ir::Sharding> paramSharding = p->sharding;
    for (const std::string& s : suffixes)
      state[i].push_back(addState(params[i]->name() + "." + s, params[i]->type(),
                                  params[i]->sharding(), paramSharding, zeros));
  }
  Value* step =
      addState(stepName, ir::TensorType{ir::DType::I64, {}}, std::nullopt, std::nullopt,
               std::make_shared<ir::Tensor>(ir::Tensor::scalar(ir::DType::I64, 0)));

  // ---- the body ----
  IrEmitter e(*ts, f->loc);
  TRY_ASSIGN(AccumulatedGradients acc,
             accumulateGradients(e, *g, static_cast<int>(f->results().size()), plan, forwardArgs));
  std::vector<Value*> grads = acc.grads;
  if (o.clip) {
    TRY_ASSIGN(ClippedGrads clipped, clipByGlobalNorm(e, grads, *o.clip));
    grads = clipped.grads;
  }
  const size_t updatesStart = ts->ops().size();
  TRY_ASSIGN(Value * one, e.scalar(ir::DType::I64, 1));
  StepCount count{step, nullptr};
  TRY_ASSIGN(count.after, e.add(step, one, stepName + "_new"));

  std::vector<Value*> results{acc.loss};
  std::vector<Value*> newState;
  for (size_t i = 0; i < params.size(); ++i) {
    TRY_ASSIGN(ParamUpdate u,
               opt->update(e, params[i]->name(), params[i], grads[i], state[i], count));
    results.push_back(u.param);
    newState.insert(newState.end(), u.state.begin(), u.state.end());
  }
  newState.push_back(count.after);
  results.insert(results.end(), newState.begin(), newState.end());
  ts->setResults(results);
  if (o.earlyUpdates) scheduleUpdatesEarly(*ts, updatesStart);
  eliminateDeadOps(*ts);
  return info;
}

}  // namespace tessera::passes
