// The training loop on the interpreter (see TrainLoop.h).
#include "launcher/TrainLoop.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "codegen/Engine.h"
#include "ir/Interpreter.h"
#include "passes/Pipeline.h"

namespace tessera::launcher {

std::string progressLine(const StepRecord& r, int steps) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "step %d/%d  loss %.4f  %.3g s/step  %.0f tok/s", r.step, steps,
                r.loss, r.seconds, r.tokensPerSecond);
  return buf;
}

std::string jsonLine(const StepRecord& r) {
  nlohmann::ordered_json j;  // keys in this order, step first
  j["step"] = r.step;
  j["loss"] = r.loss;
  j["step_time_s"] = r.seconds;
  j["tokens_per_s"] = r.tokensPerSecond;
  return j.dump();
}

namespace {

// One step's bookkeeping shared by both engines: the record, the progress lines, the check.
Status record(const StepData& d, double loss, std::chrono::steady_clock::time_point start,
              int step, const TrainLoopOptions& o, std::vector<StepRecord>* records) {
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  StepRecord rec;
  rec.step = step;
  rec.loss = loss;
  rec.seconds = seconds;
  rec.tokensPerSecond = seconds > 0 ? static_cast<double>(d.tokens) / seconds : 0;
  if (o.progress) *o.progress << progressLine(rec, o.steps) << std::endl;
  if (o.logJson) *o.logJson << jsonLine(rec) << std::endl;
  records->push_back(rec);
  if (!std::isfinite(rec.loss))
    return Status::error("step " + std::to_string(step) + ": the loss is " +
                         (std::isnan(rec.loss) ? "nan" : "infinite") +
                         "; training diverged (try a lower --lr, or --clip)");
  return Status::ok();
}

// The compiled engine: parameters and state stay in the engine (results aliased to their
// arguments), only the batch goes in and the loss comes out; the module gets the trained values
// back at the end.
StatusOr<std::vector<StepRecord>> runCompiled(ir::Module& m, const passes::TrainStepInfo& info,
                                              const std::vector<ir::Parameter*>& carried,
                                              const DataFn& data, const TrainLoopOptions& o) {
  codegen::EngineOptions eo = o.engineOptions;
  eo.parameters.insert(info.params.begin(), info.params.end());
  eo.optimizerState.insert(info.state.begin(), info.state.end());
  const auto buildStart = std::chrono::steady_clock::now();
  TRY_ASSIGN(std::unique_ptr<codegen::Engine> engine,
             codegen::Engine::compile(m, info.function, eo));
  if (o.progress) {
    const double buildSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - buildStart).count();
    *o.progress << "engine: " << engine->executable().thunks.size() << " thunks";
    if (const codegen::KernelCompileStats* cs = engine->compileStats()) {
      *o.progress << ", kernels: " << cs->compiled << " compiled, " << cs->diskHits
                  << " from the cache";
      for (const std::string& w : cs->warnings) *o.progress << "\nwarning: " << w;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "; built in %.2f s", buildSeconds);
    *o.progress << buf << "\n";
  }
  for (size_t i = 0; i < carried.size(); ++i)
    TRY(engine->aliasResult(static_cast<int>(i + 1), carried[i]->name));
  std::vector<StepRecord> records;
  for (int step = 1; step <= o.steps; ++step) {
    auto start = std::chrono::steady_clock::now();
    StatusOr<StepData> d = data(step);
    if (!d.isOk()) return d.status();
    if (step == 1 && o.memoryReport) {
      TRY_ASSIGN(auto symbols, engine->symbolsFor(d->inputs));
      TRY_ASSIGN(codegen::MemoryReport rep, engine->memoryReport(symbols));
      *o.memoryReport << rep.str() << std::flush;
    }
    StatusOr<std::vector<ir::Tensor>> r = engine->run(d->inputs);
    if (!r.isOk())
      return passes::withNote(r.status(), "note: at training step " + std::to_string(step));
    if (step == 1 && o.memoryReport)
      *o.memoryReport << "  measured peak       " << engine->measuredPeakBytes()
                      << " bytes (runtime allocator, step 1; gemm packing held "
                      << engine->measuredGemmWorkspaceBytes() << ")" << std::endl;
    TRY(record(*d, (*r)[0][0], start, step, o, &records));
  }
  for (ir::Parameter* p : carried) {
    TRY_ASSIGN(ir::Tensor t, engine->readArgument(p->name));
    p->init = std::make_shared<ir::Tensor>(std::move(t));
  }
  return records;
}

}  // namespace

StatusOr<std::vector<StepRecord>> runTrainLoop(ir::Module& m, const passes::TrainStepInfo& info,
                                               const DataFn& data, const TrainLoopOptions& o) {
  ir::Function* f = m.findFunction(info.function);
  assert(f && "the training step was built in this module");
  // Results 1.. update these parameters, in this order.
  std::vector<ir::Parameter*> carried;
  for (const auto* names : {&info.params, &info.state})
    for (const std::string& n : *names) {
      ir::Parameter* p = nullptr;
      for (ir::Parameter& q : m.params)
        if (q.name == n) p = &q;
      assert(p && "every parameter and state tensor is a module parameter");
      carried.push_back(p);
    }
  assert(f->results().size() == carried.size() + 1);
  if (o.engine == TrainLoopOptions::EngineKind::Compiled)
    return runCompiled(m, info, carried, data, o);

  std::vector<StepRecord> records;
  for (int step = 1; step <= o.steps; ++step) {
    auto start = std::chrono::steady_clock::now();
    StatusOr<StepData> d = data(step);
    if (!d.isOk()) return d.status();
    StatusOr<ir::InterpretResult> r = ir::interpret(*f, d->inputs);
    if (!r.isOk())
      return passes::withNote(r.status(), "note: at training step " + std::to_string(step));
    for (size_t i = 0; i < carried.size(); ++i)
      carried[i]->init = std::make_shared<ir::Tensor>(std::move(r->outputs[i + 1]));
    TRY(record(*d, r->outputs[0][0], start, step, o, &records));
  }
  return records;
}

}  // namespace tessera::launcher
