// The training loop on the interpreter (see TrainLoop.h).
#include "launcher/TrainLoop.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

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
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    StepRecord rec;
    rec.step = step;
    rec.loss = r->outputs[0][0];
    rec.seconds = seconds;
    rec.tokensPerSecond = seconds > 0 ? static_cast<double>(d->tokens) / seconds : 0;
    if (o.progress) *o.progress << progressLine(rec, o.steps) << std::endl;
    if (o.logJson) *o.logJson << jsonLine(rec) << std::endl;
    records.push_back(rec);
    if (!std::isfinite(rec.loss))
      return Status::error("step " + std::to_string(step) + ": the loss is " +
                           (std::isnan(rec.loss) ? "nan" : "infinite") +
                           "; training diverged (try a lower --lr, or --clip)");
  }
  return records;
}

}  // namespace tessera::launcher
