// Building the per-rank pipeline training step functions (PipelineStep.h).
#include "partition/pipeline/PipelineStep.h"

#include <algorithm>
#include <map>
#include <set>

#include "partition/pipeline/PipelineRemat.h"
#include "partition/pipeline/StageBackward.h"
#include "partition/pipeline/StageUpdate.h"
#include "passes/autodiff/Autodiff.h"
#include "passes/training/FunctionInliner.h"
#include "passes/training/IrEmitter.h"
#include "passes/training/Optimizer.h"

namespace tessera::partition::pipeline {

using ir::Value;

namespace {

// A send (v != null) or a receive of type t, to/from position `peer` along the pipeline axis.
StatusOr<Value*> p2p(passes::IrEmitter& e, ir::OpKind kind, Value* v, const ir::TensorType& t,
                     int peer, const std::string& mesh, const std::string& axis,
                     const std::string& name = "") {
  std::vector<Value*> operands;
  std::vector<ir::TensorType> declared;
  if (v) operands.push_back(v);
  else declared.push_back(t);
  TRY_ASSIGN(ir::Op * op, e.op(kind, operands,
                               {{"axes", ir::AxisList{{axis}}},
                                {"peer", int64_t{peer}},
                                {"mesh", ir::MeshRef{mesh}}},
                               declared, name));
  return op->numResults() ? op->result() : nullptr;
}

// Clipping by the global norm of the whole model's gradient (passes/training/GradClipping.h's
// formula, torch's clip_grad_norm_): each rank's squared norm of the gradients it counts (a tied
// parameter's once, at its owner) goes to pipeline rank 0, which adds them in rank order and
// sends the total back — every rank then scales by the same coefficient, bit for bit. The sum is
// in `acc` (the dtype of the model's first trained parameter, as on one device).
StatusOr<std::vector<Value*>> clipAcrossStages(passes::IrEmitter& e, const std::vector<Value*>& grads,
                                               const std::vector<bool>& counts, double maxNorm, ir::DType acc,
                                               int r, int p, const PipelineStepOptions& o) {
  Value* part = nullptr;
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!counts[i]) continue;
    TRY_ASSIGN(Value * sq, e.mul(grads[i], grads[i]));
    TRY_ASSIGN(Value * s, e.sumAll(sq));
    TRY_ASSIGN(s, e.castIfNeeded(s, acc));
    if (part) {
      TRY_ASSIGN(part, e.add(part, s));
    } else {
      part = s;
    }
  }
  if (!part) {
    TRY_ASSIGN(part, e.scalar(acc, 0));
  }
  const ir::TensorType scalarType{acc, {}};
  Value* total = part;
  if (r == 0) {
    for (int q = 1; q < p; ++q) {
      TRY_ASSIGN(Value * got, p2p(e, ir::OpKind::Recv, nullptr, scalarType, q, o.mesh, o.axis,
                                  "grad_sq.from" + std::to_string(q)));
      TRY_ASSIGN(total, e.add(total, got));
    }
    for (int q = 1; q < p; ++q) TRY(p2p(e, ir::OpKind::Send, total, scalarType, q, o.mesh, o.axis).status());
  } else {
    TRY(p2p(e, ir::OpKind::Send, part, scalarType, 0, o.mesh, o.axis).status());
    TRY_ASSIGN(total, p2p(e, ir::OpKind::Recv, nullptr, scalarType, 0, o.mesh, o.axis, "grad_sq"));
  }
  TRY_ASSIGN(Value * norm, e.sqrt(total, "grad_norm"));
  TRY_ASSIGN(Value * tiny, e.scalar(acc, 1e-6));
  TRY_ASSIGN(Value * denom, e.add(norm, tiny));
  TRY_ASSIGN(Value * maxN, e.scalar(acc, maxNorm));
  TRY_ASSIGN(Value * coef, e.div(maxN, denom));
  TRY_ASSIGN(Value * one, e.scalar(acc, 1));
  TRY_ASSIGN(Value * clamped, e.min(coef, one, "clip_coef"));
  std::vector<Value*> out;
  for (Value* g : grads) {
    TRY_ASSIGN(Value * cg, e.castIfNeeded(clamped, g->type().dtype));
    TRY_ASSIGN(Value * scaled, e.mul(g, cg));
    out.push_back(scaled);
  }
  return out;
}

}  // namespace

StatusOr<ir::Tensor> microBatchOf(const ir::Tensor& t, int k, int M, const std::string& what) {
  if (t.rank() == 0 || M < 1 || t.shape()[0] % M != 0)
    return Status::error(std::to_string(M) + " micro-batches do not divide the batch of " + what + " (" +
                         t.shapeStr() + ", dim 0)");
  const int64_t n = t.shape()[0] / M;
  const int64_t row = t.shape()[0] ? t.numElements() / t.shape()[0] : 0;
  std::vector<int64_t> shape = t.shape();
  shape[0] = n;
  std::vector<double> v(t.data().begin() + k * n * row, t.data().begin() + (k + 1) * n * row);
  return ir::Tensor(t.dtype(), shape, std::move(v));
}

StatusOr<PipelineStep> buildPipelineStep(const ir::Module& m, const passes::TrainStepOptions& ts,
                                         const PipelineStepOptions& options) {
  // ---- options ----
  TRY(passes::validate(ts));
  if (ts.accum != 1)
    return Status::error("pipeline: --accum is not used with pipeline parallelism (the micro-batches are "
                         "--micro-batches)");
  if (ts.earlyUpdates) return Status::error("pipeline: early optimizer updates are not supported with pipelines");
  const ScheduleConfig& c = options.schedule;
  TRY(validateConfig(c));
  SplitOptions so = options.split;
  if (so.stages > 1 && so.stages != c.numStages())
    return Status::error("pipeline: " + std::to_string(so.stages) + " stages requested but the schedule has p=" +
                         std::to_string(c.ranks) + " x v=" + std::to_string(c.virtualStages) + " = " +
                         std::to_string(c.numStages()));
  so.stages = c.numStages();
  const ir::Function* forward = m.findFunction(ts.forward);
  if (!forward) return Status::error("pipeline: the module has no forward function @" + ts.forward);

  // ---- stages, schedule, schedule-only rank programs ----
  TRY_ASSIGN(StagePlan plan, splitStages(*forward, so));
  TRY(addStageBackward(plan));
  ir::Module& mod = *plan.module;
  if (!mod.findMesh(options.mesh)) mod.meshes.push_back(ir::Mesh::make(options.mesh, {{options.axis, c.ranks}}));
  TRY_ASSIGN(Schedule schedule, buildSchedule(c));
  TRY_ASSIGN(std::vector<RankProgram> programs, buildRankPrograms(plan, schedule, options.mesh, options.axis,
                                                                   options.reuseForward));

  PipelineStep out;
  std::unique_ptr<passes::Optimizer> opt = passes::makeOptimizer(ts.optimizer);
  out.stateSuffixes = opt->stateSuffixes();
  for (int i = 0; i < forward->numArguments(); ++i) {
    const ir::Parameter* p = m.findParam(forward->argument(i)->name());
    if (!p) out.dataArgs.push_back(forward->argument(i)->name());
  }

  // The trained parameters in the forward's order, and which ranks hold each.
  std::vector<std::string> trainedOrder;
  for (Value* a : passes::trainableArguments(*forward)) trainedOrder.push_back(a->name());
  const ir::DType clipDType = trainedOrder.empty() ? ir::DType::F32 : mod.findParam(trainedOrder[0])->type.dtype;
  std::map<std::string, std::vector<int>> holders;
  for (int r = 0; r < c.ranks; ++r)
    for (const std::string& n : programs[r].grads) holders[n].push_back(r);

  // Zero optimizer state and the step counter as module parameters (the single-device step's
  // names), unless the module already has them (a module whose @train_step was built).
  auto addZeroParam = [&](const std::string& name, const ir::TensorType& t) {
    if (mod.findParam(name)) return;
    ir::Parameter p;
    p.name = name;
    p.type = t;
    std::vector<int64_t> shape;
    for (const ir::Dim& d : t.shape) shape.push_back(d.constant().value_or(1));
    p.init = std::make_shared<const ir::Tensor>(t.dtype, shape);
    p.trainable = false;
    mod.params.push_back(std::move(p));
  };
  for (const std::string& n : trainedOrder)
    if (holders.count(n))
      for (const std::string& s : out.stateSuffixes) addZeroParam(n + "." + s, mod.findParam(n)->type);
  const ir::TensorType stepType{ir::DType::I64, {}};
  addZeroParam("step", stepType);

  const int last = c.rankOfStage(c.numStages() - 1);
  for (int r = 0; r < c.ranks; ++r) {
    const RankProgram& rp = programs[r];
    const ir::Function* body = mod.findFunction(rp.function);
    PipelineRankStep rs;
    for (int chunk = 0; chunk < c.virtualStages; ++chunk) rs.stages.push_back(c.stageOf(r, chunk));
    rs.info.function = options.prefix + std::to_string(r);
    if (mod.findFunction(rs.info.function))
      return Status::error("pipeline: the module already has a function @" + rs.info.function);
    // The parameters this rank trains, in the forward's order.
    std::vector<std::string> trained;
    for (const std::string& n : trainedOrder)
      if (std::count(rp.grads.begin(), rp.grads.end(), n)) trained.push_back(n);
    std::vector<std::pair<std::string, ir::TensorType>> typed;
    for (const std::string& n : trained) typed.push_back({n, mod.findParam(n)->type});
    TRY_ASSIGN(UpdateFunction upd, addUpdateFunction(mod, rs.info.function + "_update", typed, ts.optimizer));

    ir::Function* g = mod.addFunction(rs.info.function);
    passes::IrEmitter e(*g, Location{});
    std::map<std::string, Value*> byName;
    auto arg = [&](const std::string& name, const ir::TensorType& t, const std::optional<ir::Sharding>& s) {
      Value* v = g->addArgument(t, name, s);
      e.reserveName(name);
      byName[name] = v;
      return v;
    };
    // Data micro-batches first, then parameters the stages take but do not train (frozen: data
    // of every micro-batch), then trained parameters, their state, the step.
    const int numRpArgs = body->numArguments();
    for (int i = static_cast<int>(rp.params.size()); i < numRpArgs; ++i) {
      const Value* a = body->argument(i);
      arg(a->name(), a->type(), a->sharding());
      rs.info.batchArgs.push_back(a->name());
      const size_t dot = a->name().rfind(".mb");
      rs.dataOf.push_back(a->name().substr(0, dot));
      rs.microBatchOf.push_back(std::stoi(a->name().substr(dot + 3)));
    }
    if (rs.info.batchArgs.empty() && !out.dataArgs.empty()) {
      // A rank whose stages take no data (a middle stage) still takes micro-batch 0 of the first
      // data argument, unused: it binds the symbols (batch, sequence) of the activations it
      // receives, which the interpreter and the engine size from the arguments.
      const std::string& d = out.dataArgs.front();
      const Value* fa = nullptr;
      for (int i = 0; i < forward->numArguments(); ++i)
        if (forward->argument(i)->name() == d) fa = forward->argument(i);
      arg(d + ".mb0", fa->type(), fa->sharding());
      rs.info.batchArgs.push_back(d + ".mb0");
      rs.dataOf.push_back(d);
      rs.microBatchOf.push_back(0);
    }
    for (size_t i = 0; i < rp.params.size(); ++i) {
      const std::string& n = rp.params[i];
      if (std::count(trained.begin(), trained.end(), n)) continue;
      const Value* a = body->argument(static_cast<int>(i));
      arg(n, a->type(), a->sharding());
      rs.info.batchArgs.push_back(n);
      rs.dataOf.push_back(n);
      rs.microBatchOf.push_back(-1);
    }
    for (const std::string& n : trained) {
      const Value* a = body->argument(static_cast<int>(
          std::find(rp.params.begin(), rp.params.end(), n) - rp.params.begin()));
      arg(n, a->type(), a->sharding());
      rs.info.params.push_back(n);
      if (holders.at(n).front() == r) rs.owned.push_back(n);
    }
    for (const std::string& n : trained)
      for (const std::string& s : upd.stateSuffixes) {
        arg(n + "." + s, byName[n]->type(), byName[n]->sharding());
        rs.info.state.push_back(n + "." + s);
      }
    Value* step = arg("step", stepType, std::nullopt);
    rs.info.state.push_back("step");

    // 1. The schedule.
    std::vector<Value*> callArgs;
    for (int i = 0; i < numRpArgs; ++i) callArgs.push_back(byName.at(body->argument(i)->name()));
    TRY_ASSIGN(std::vector<Value*> res, passes::inlineFunction(*body, *g, callArgs, std::nullopt, &e, ".s"));
    size_t k = 0;
    Value* lossSum = rp.hasLoss ? res.at(k++) : nullptr;
    std::map<std::string, Value*> grad;
    for (const std::string& n : rp.grads) grad[n] = res.at(k++);

    // 2. Tied parameters: the holders' sums go to the lowest holder, added in rank order, and the
    // total goes back (identical bits everywhere).
    for (const std::string& n : trainedOrder) {
      const auto it = holders.find(n);
      if (it == holders.end() || it->second.size() < 2 || !grad.count(n)) continue;
      const std::vector<int>& hs = it->second;
      if (hs.front() == r) {
        Value* total = grad[n];
        for (size_t h = 1; h < hs.size(); ++h) {
          TRY_ASSIGN(Value * got, p2p(e, ir::OpKind::Recv, nullptr, total->type(), hs[h], options.mesh,
                                      options.axis, "grad_" + n + ".from" + std::to_string(hs[h])));
          TRY_ASSIGN(total, e.add(total, got, "grad_" + n + ".tied"));
        }
        for (size_t h = 1; h < hs.size(); ++h)
          TRY(p2p(e, ir::OpKind::Send, total, total->type(), hs[h], options.mesh, options.axis).status());
        grad[n] = total;
      } else {
        TRY(p2p(e, ir::OpKind::Send, grad[n], grad[n]->type(), hs.front(), options.mesh, options.axis).status());
        TRY_ASSIGN(grad[n], p2p(e, ir::OpKind::Recv, nullptr, grad[n]->type(), hs.front(), options.mesh,
                                options.axis, "grad_" + n + ".tied"));
      }
    }

    // 3. The mean over micro-batches, clipped by the global norm if asked; 4. the optimizer.
    std::vector<Value*> means;
    for (const std::string& n : trained) {
      TRY_ASSIGN(Value * mean, e.scale(grad.at(n), 1.0 / c.microBatches, "grad_" + n + ".mean"));
      means.push_back(mean);
    }
    if (ts.clip) {
      std::vector<bool> counts;
      for (const std::string& n : trained) counts.push_back(holders.at(n).front() == r);
      TRY_ASSIGN(means, clipAcrossStages(e, means, counts, *ts.clip, clipDType, r, c.ranks, options));
    }
    std::vector<Value*> updArgs;
    for (const std::string& n : trained) updArgs.push_back(byName[n]);
    updArgs.insert(updArgs.end(), means.begin(), means.end());
    for (const std::string& n : trained)
      for (const std::string& s : upd.stateSuffixes) updArgs.push_back(byName[n + "." + s]);
    updArgs.push_back(step);
    TRY_ASSIGN(std::vector<Value*> updated,
               passes::inlineFunction(*mod.findFunction(upd.function), *g, updArgs, std::nullopt, &e, ".u"));

    // 5. The loss, from the last stage's rank to every other.
    const ir::TensorType lossType = forward->results()[0]->type();
    Value* loss = nullptr;
    if (r == last) {
      if (!lossSum) return Status::error("pipeline: the last stage's rank computes no loss");
      TRY_ASSIGN(loss, e.scale(lossSum, 1.0 / c.microBatches, "loss"));
      for (int q = 0; q < c.ranks; ++q)
        if (q != r) TRY(p2p(e, ir::OpKind::Send, loss, lossType, q, options.mesh, options.axis).status());
    } else {
      TRY_ASSIGN(loss, p2p(e, ir::OpKind::Recv, nullptr, lossType, last, options.mesh, options.axis, "loss"));
    }
    std::vector<Value*> results = {loss};
    results.insert(results.end(), updated.begin(), updated.end());
    g->setResults(results);
    rs.activationSends = rp.activationSends;
    if (options.remat != passes::RematMode::None)
      TRY(rematPipelineFunction(*g, rs.activationSends, options.axis, options.remat).status());
    out.ranks.push_back(std::move(rs));
  }

  out.schedule = std::move(schedule);
  out.programs = std::move(programs);
  out.module = std::move(plan.module);
  out.stagesInfo = std::move(plan);
  return out;
}

StatusOr<std::vector<ir::Tensor>> rankStepInputs(const PipelineStep& step, int r,
                                                 const std::map<std::string, ir::Tensor>& batch,
                                                 const std::map<std::string, ir::Tensor>& values) {
  if (r < 0 || r >= static_cast<int>(step.ranks.size()))
    return Status::error("pipeline: no rank " + std::to_string(r));
  const PipelineRankStep& rs = step.ranks[r];
  const int M = step.schedule.config.microBatches;
  std::vector<ir::Tensor> out;
  auto value = [&](const std::string& n) -> StatusOr<ir::Tensor> {
    if (auto it = values.find(n); it != values.end()) return it->second;
    if (auto it = batch.find(n); it != batch.end()) return it->second;
    const ir::Parameter* p = step.module->findParam(n);
    if (p && p->init) return *p->init;
    return Status::error("pipeline: no value for %" + n + " of @" + rs.info.function);
  };
  for (size_t i = 0; i < rs.info.batchArgs.size(); ++i) {
    if (rs.microBatchOf[i] < 0) {
      TRY_ASSIGN(ir::Tensor t, value(rs.dataOf[i]));
      out.push_back(std::move(t));
      continue;
    }
    auto it = batch.find(rs.dataOf[i]);
    if (it == batch.end()) return Status::error("pipeline: no value for the data argument %" + rs.dataOf[i]);
    TRY_ASSIGN(ir::Tensor t, microBatchOf(it->second, rs.microBatchOf[i], M, "%" + rs.dataOf[i]));
    out.push_back(std::move(t));
  }
  for (const auto* names : {&rs.info.params, &rs.info.state})
    for (const std::string& n : *names) {
      TRY_ASSIGN(ir::Tensor t, value(n));
      out.push_back(std::move(t));
    }
  return out;
}

}  // namespace tessera::partition::pipeline
