// Building a stage's optimizer-step function (StageUpdate.h).
#include "partition/pipeline/StageUpdate.h"

#include "passes/training/IrEmitter.h"
#include "passes/training/Optimizer.h"

namespace tessera::partition::pipeline {

StatusOr<UpdateFunction> addUpdateFunction(ir::Module& m, const std::string& name,
                                           const std::vector<std::pair<std::string, ir::TensorType>>& params,
                                           const passes::OptimizerOptions& o) {
  passes::TrainStepOptions ts;
  ts.optimizer = o;
  TRY(passes::validate(ts));
  if (m.findFunction(name)) return Status::error("pipeline: the module already has a function @" + name);
  std::unique_ptr<passes::Optimizer> opt = passes::makeOptimizer(o);
  UpdateFunction out{name, opt->stateSuffixes()};
  ir::Function* f = m.addFunction(name);
  std::vector<ir::Value*> ps, gs;
  std::vector<std::vector<ir::Value*>> states(params.size());
  for (const auto& [n, t] : params) ps.push_back(f->addArgument(t, n));
  for (const auto& [n, t] : params) gs.push_back(f->addArgument(t, "grad_" + n));
  for (size_t i = 0; i < params.size(); ++i)
    for (const std::string& s : out.stateSuffixes)
      states[i].push_back(f->addArgument(params[i].second, params[i].first + "." + s));
  ir::Value* step = f->addArgument(ir::TensorType{ir::DType::I64, {}}, "step");
  passes::IrEmitter e(*f, Location{});
  for (int i = 0; i < f->numArguments(); ++i) e.reserveName(f->argument(i)->name());
  TRY_ASSIGN(ir::Value * one, e.scalar(ir::DType::I64, 1));
  passes::StepCount count{step, nullptr};
  TRY_ASSIGN(count.after, e.add(step, one, "step_new"));
  std::vector<ir::Value*> newParams, newState;
  for (size_t i = 0; i < params.size(); ++i) {
    TRY_ASSIGN(passes::ParamUpdate u, opt->update(e, params[i].first, ps[i], gs[i], states[i], count));
    newParams.push_back(u.param);
    newState.insert(newState.end(), u.state.begin(), u.state.end());
  }
  std::vector<ir::Value*> results = newParams;
  results.insert(results.end(), newState.begin(), newState.end());
  results.push_back(count.after);
  f->setResults(results);
  return out;
}

}  // namespace tessera::partition::pipeline
