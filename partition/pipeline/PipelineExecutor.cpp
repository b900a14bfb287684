// The in-process pipeline trainer (PipelineExecutor.h).
#include "partition/pipeline/PipelineExecutor.h"

#include <thread>
#include <tuple>

#include "ir/Interpreter.h"
#include "partition/pipeline/Channels.h"
#include "partition/pipeline/ScheduleCheck.h"
#include "partition/pipeline/StageUpdate.h"

namespace tessera::partition::pipeline {

using ir::Tensor;

namespace {

Tensor plus(const Tensor& a, const Tensor& b) {
  assert(a.shape() == b.shape());
  std::vector<double> v(a.data());
  for (size_t i = 0; i < v.size(); ++i) v[i] += b.data()[i];
  return Tensor(a.dtype(), a.shape(), std::move(v));
}

Tensor scaled(const Tensor& a, double c) {
  std::vector<double> v(a.data());
  for (double& x : v) x *= c;
  return Tensor(a.dtype(), a.shape(), std::move(v));
}

// Rows [k·n/M, (k+1)·n/M) of `t` along dim 0.
Tensor rows(const Tensor& t, int k, int M) {
  const int64_t n = t.shape()[0] / M;
  const int64_t row = t.numElements() / t.shape()[0];
  std::vector<int64_t> shape = t.shape();
  shape[0] = n;
  std::vector<double> v(t.data().begin() + k * n * row, t.data().begin() + (k + 1) * n * row);
  return Tensor(t.dtype(), shape, std::move(v));
}

// A message: activation (0) or gradient (1), micro-batch, sending stage.
using MessageId = std::tuple<int, int, int>;

std::string messageStr(const MessageId& id) {
  return std::string(std::get<0>(id) == 0 ? "activation" : "gradient") + " of micro-batch " +
         std::to_string(std::get<1>(id)) + " from stage " + std::to_string(std::get<2>(id));
}

}  // namespace

// What one step shares between the rank threads (read-only except the mailbox).
struct PipelineTrainer::Impl {
  const PipelineTrainer& t;
  std::vector<std::map<std::string, Tensor>> microBatches;
  Channels mailbox;

  // Per rank results.
  struct RankOut {
    Status status;
    double lossSum = 0;
    std::map<int, std::vector<Tensor>> grads;  // stage -> accumulated grads of Stage::trained
  };
  std::vector<RankOut> out;

  Impl(const PipelineTrainer& trainer, std::chrono::milliseconds timeout)
      : t(trainer), mailbox(timeout) {}

  // The value of argument `name` of a stage for micro-batch mb.
  const Tensor& argValue(const std::string& name, int mb) const {
    if (auto it = t.params_.find(name); it != t.params_.end()) return it->second;
    if (auto it = microBatches[mb].find(name); it != microBatches[mb].end()) return it->second;
    const ir::Parameter* p = t.plan_.module->findParam(name);
    assert(p && p->init && "checked when the micro-batches were made");
    return *p->init;
  }

  Status runRank(int r) {
    const ScheduleConfig& c = t.schedule_.config;
    const int S = c.numStages(), M = c.microBatches;
    std::map<std::pair<int, int>, std::vector<Tensor>> inputs, outputs, dOutputs, dInputs;
    RankOut& mine = out[r];
    size_t index = 0;
    for (const Action& a : t.schedule_.ranks[r]) {
      const std::string who = "pipeline rank " + std::to_string(r) + " action " + std::to_string(index++) +
                              " (" + actionStr(a, c.virtualStages) + ")";
      const int s = c.stageOf(r, a.chunk), mb = a.microBatch;
      const Stage& st = t.plan_.stages[s];
      switch (a.kind) {
        case ActionKind::Forward:
        case ActionKind::Backward: {
          bool fwd = a.kind == ActionKind::Forward;
          std::vector<Tensor> args = inputs[{s, mb}];
          for (const std::string& n : st.args) args.push_back(argValue(n, mb));
          if (!fwd && s + 1 < S) {
            const auto& d = dOutputs.at({s, mb});
            args.insert(args.end(), d.begin(), d.end());
          }
          const ir::Function* f = t.plan_.module->findFunction(fwd ? st.function : st.backward);
          StatusOr<ir::InterpretResult> res = ir::interpret(*f, args);
          if (!res.isOk()) return Status::error(who + ": " + res.status().message());
          std::vector<Tensor>& o = res->outputs;
          if (fwd) {
            if (s + 1 == S) mine.lossSum += o.at(0)[0];
            else if (c.rankOfStage(s + 1) == r) inputs[{s + 1, mb}] = o;
            else outputs[{s, mb}] = std::move(o);
            continue;
          }
          const size_t numIn = st.inputs.size();
          std::vector<Tensor> dIn(o.begin() + 1, o.begin() + 1 + static_cast<long>(numIn));
          auto& acc = mine.grads[s];
          for (size_t k = 0; k < st.trained.size(); ++k) {
            const Tensor& g = o.at(1 + numIn + k);
            if (acc.size() <= k) acc.push_back(g);
            else acc[k] = plus(acc[k], g);
          }
          inputs.erase({s, mb});
          dOutputs.erase({s, mb});
          if (s > 0 && c.rankOfStage(s - 1) == r) dOutputs[{s - 1, mb}] = std::move(dIn);
          else if (s > 0) dInputs[{s, mb}] = std::move(dIn);
          break;
        }
        case ActionKind::SendActivation:
          mailbox.send(r, a.peer, messageStr({0, mb, s}), std::move(outputs.at({s, mb})));
          outputs.erase({s, mb});
          break;
        case ActionKind::SendGradient:
          mailbox.send(r, a.peer, messageStr({1, mb, s}), std::move(dInputs.at({s, mb})));
          dInputs.erase({s, mb});
          break;
        case ActionKind::RecvActivation: {
          TRY_ASSIGN(inputs[std::make_pair(s, mb)], mailbox.recv(a.peer, r, messageStr({0, mb, s - 1}), who));
          break;
        }
        case ActionKind::RecvGradient: {
          TRY_ASSIGN(dOutputs[std::make_pair(s, mb)], mailbox.recv(a.peer, r, messageStr({1, mb, s + 1}), who));
          break;
        }
      }
    }
    (void)M;
    return Status::ok();
  }
};

StatusOr<std::unique_ptr<PipelineTrainer>> PipelineTrainer::create(StagePlan plan, Schedule schedule,
                                                                   const passes::OptimizerOptions& optimizer,
                                                                   PipelineRunOptions options) {
  TRY(checkSchedule(schedule, SendSemantics::Buffered));
  const int S = static_cast<int>(plan.stages.size());
  if (schedule.config.numStages() != S)
    return Status::error("pipeline: the schedule has " + std::to_string(schedule.config.numStages()) +
                         " stages (p=" + std::to_string(schedule.config.ranks) + " x v=" +
                         std::to_string(schedule.config.virtualStages) + ") but the model was split into " +
                         std::to_string(S));
  std::unique_ptr<PipelineTrainer> t(new PipelineTrainer());
  t->options_ = options;
  t->owned_.resize(S);
  for (int s = 0; s < S; ++s) {
    if (plan.stages[s].backward.empty())
      return Status::error("pipeline: stage " + std::to_string(s) + " has no backward function");
    std::vector<std::pair<std::string, ir::TensorType>> owned;
    for (const std::string& n : plan.stages[s].trained) {
      if (t->params_.count(n)) continue;  // owned by an earlier stage (a tied parameter)
      const ir::Parameter* p = plan.module->findParam(n);
      if (!p || !p->init) return Status::error("pipeline: parameter @" + n + " has no initial value");
      t->params_[n] = *p->init;
      owned.push_back({n, p->type});
      t->owned_[s].push_back(n);
    }
    std::string name;
    if (!owned.empty()) {
      TRY_ASSIGN(UpdateFunction u, addUpdateFunction(*plan.module, plan.stages[s].function + "_update",
                                                     owned, optimizer));
      name = u.function;
      t->stateSuffixes_ = u.stateSuffixes;
    }
    t->updateFunctions_.push_back(name);
  }
  for (const auto& [n, v] : t->params_)
    for (const std::string& suf : t->stateSuffixes_) t->state_[n + "." + suf] = Tensor(v.dtype(), v.shape());
  t->stepCount_ = Tensor::scalar(ir::DType::I64, 0);
  t->plan_ = std::move(plan);
  t->schedule_ = std::move(schedule);
  return t;
}

StatusOr<double> PipelineTrainer::step(const std::map<std::string, Tensor>& batch) {
  const ScheduleConfig& c = schedule_.config;
  const int M = c.microBatches, S = static_cast<int>(plan_.stages.size());
  Impl run(*this, options_.timeout);
  run.microBatches.resize(M);
  for (const Stage& st : plan_.stages)
    for (const std::string& n : st.args) {
      if (params_.count(n) || run.microBatches[0].count(n)) continue;
      auto it = batch.find(n);
      if (it == batch.end()) {
        const ir::Parameter* p = plan_.module->findParam(n);
        if (p && p->init) continue;  // a frozen parameter
        return Status::error("pipeline step: no value for the data argument %" + n);
      }
      const Tensor& v = it->second;
      if (v.rank() == 0 || v.shape()[0] % M != 0)
        return Status::error("pipeline step: " + std::to_string(M) + " micro-batches do not divide the batch of %" +
                             n + " (" + v.shapeStr() + ", dim 0)");
      for (int k = 0; k < M; ++k) run.microBatches[k][n] = rows(v, k, M);
    }
  run.out.resize(c.ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < c.ranks; ++r)
    threads.emplace_back([&run, r] {
      Status st = run.runRank(r);
      if (!st.isOk()) {
        run.out[r].status = st;
        run.mailbox.abort();
      }
    });
  for (std::thread& th : threads) th.join();
  // The first real error (a rank stopped by another's failure reports that instead).
  for (int pass = 0; pass < 2; ++pass)
    for (int r = 0; r < c.ranks; ++r) {
      const Status& st = run.out[r].status;
      if (st.isOk()) continue;
      if (pass == 0 && st.message().find(Channels::abortedMessage()) != std::string::npos) continue;
      return st;
    }

  // Gradients: summed over the stages that use a parameter, then averaged over micro-batches.
  std::map<std::string, Tensor> grads;
  double lossSum = 0;
  for (int r = 0; r < c.ranks; ++r) lossSum += run.out[r].lossSum;
  for (int s = 0; s < S; ++s) {
    const auto& acc = run.out[c.rankOfStage(s)].grads[s];
    for (size_t k = 0; k < plan_.stages[s].trained.size(); ++k) {
      const std::string& n = plan_.stages[s].trained[k];
      auto it = grads.find(n);
      if (it == grads.end()) grads.emplace(n, acc.at(k));
      else it->second = plus(it->second, acc.at(k));
    }
  }
  for (auto& [n, g] : grads) g = scaled(g, 1.0 / M);

  // The optimizer, once per parameter, on the stage that owns it.
  ir::Tensor nextStep = stepCount_;
  for (int s = 0; s < S; ++s) {
    if (updateFunctions_[s].empty()) continue;
    const auto& own = owned_[s];
    std::vector<Tensor> args;
    for (const std::string& n : own) args.push_back(params_.at(n));
    for (const std::string& n : own) args.push_back(grads.at(n));
    for (const std::string& n : own)
      for (const std::string& suf : stateSuffixes_) args.push_back(state_.at(n + "." + suf));
    args.push_back(stepCount_);
    const ir::Function* f = plan_.module->findFunction(updateFunctions_[s]);
    TRY_ASSIGN(ir::InterpretResult res, ir::interpret(*f, args));
    size_t k = 0;
    for (const std::string& n : own) params_[n] = res.outputs[k++];
    for (const std::string& n : own)
      for (const std::string& suf : stateSuffixes_) state_[n + "." + suf] = res.outputs[k++];
    nextStep = res.outputs[k];
  }
  stepCount_ = nextStep;
  return lossSum / M;
}

}  // namespace tessera::partition::pipeline
