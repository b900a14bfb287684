// Building each stage's backward function (StageBackward.h).
#include "partition/pipeline/StageBackward.h"

#include "passes/autodiff/Autodiff.h"
#include "passes/training/FunctionInliner.h"
#include "passes/training/IrEmitter.h"

namespace tessera::partition::pipeline {

Status addStageBackward(StagePlan& plan) {
  const int S = static_cast<int>(plan.stages.size());
  for (int s = 0; s < S; ++s) {
    Stage& st = plan.stages[s];
    const ir::Function* f = plan.module->findFunction(st.function);
    assert(f && "the stage function exists");
    const int numInputs = static_cast<int>(st.inputs.size());
    for (int i = 0; i < numInputs; ++i)
      if (!ir::isFloat(f->argument(i)->type().dtype))
        return Status::error("pipeline stage " + std::to_string(s) + ": the boundary value %" +
                             st.inputs[i] + " is " + f->argument(i)->type().str() +
                             "; only float tensors can cross a stage cut (they carry gradients back)");
    std::string name = st.function + "_bwd";
    if (plan.module->findFunction(name))
      return Status::error("pipeline stage " + std::to_string(s) + ": @" + name + " already exists");
    ir::Function* g = plan.module->addFunction(name);
    g->loc = f->loc;
    g->returnLoc = f->returnLoc;
    std::vector<ir::Value*> args;
    for (int i = 0; i < f->numArguments(); ++i)
      args.push_back(g->addArgument(f->argument(i)->type(), f->argument(i)->name(), f->argument(i)->sharding()));
    passes::IrEmitter e(*g, f->loc);
    for (int i = 0; i < f->numArguments(); ++i) e.reserveName(f->argument(i)->name());
    std::vector<ir::Value*> dys;
    if (s + 1 < S)
      for (size_t k = 0; k < st.outputs.size(); ++k) {
        const ir::Value* out = f->results()[k];
        dys.push_back(g->addArgument(out->type(), e.freshName("d_" + st.outputs[k]), out->sharding()));
      }
    TRY_ASSIGN(std::vector<ir::Value*> ys, passes::inlineFunction(*f, *g, args, std::nullopt, &e));
    ir::Value* surrogate = nullptr;
    if (s + 1 < S) {
      for (size_t k = 0; k < ys.size(); ++k) {
        TRY_ASSIGN(ir::Value * prod, e.mul(ys[k], dys[k]));
        TRY_ASSIGN(ir::Value * term, e.sumAll(prod));
        if (surrogate) {
          TRY_ASSIGN(surrogate, e.add(surrogate, term));
        } else {
          surrogate = term;
        }
      }
    } else {
      surrogate = ys.at(0);
    }
    if (!surrogate)
      return Status::error("pipeline stage " + std::to_string(s) + " sends nothing to the next stage");
    g->setResults({surrogate});
    std::vector<ir::Value*> wrt(args.begin(), args.begin() + numInputs);
    st.trained.clear();
    for (ir::Value* a : passes::trainableArguments(*g)) {
      if (a->resultIndex() < numInputs || a->resultIndex() >= f->numArguments()) continue;
      wrt.push_back(a);
      st.trained.push_back(a->name());
    }
    TRY_ASSIGN(passes::GradientInfo gi, passes::differentiate(*g, 0, wrt));
    (void)gi;
    st.backward = name;
  }
  return Status::ok();
}

}  // namespace tessera::partition::pipeline
