// Building the per-rank programs of a pipeline step (RankPrograms.h).
#include "partition/pipeline/RankPrograms.h"

#include <map>

#include "partition/pipeline/ScheduleCheck.h"
#include "passes/CsePass.h"
#include "passes/DcePass.h"
#include "passes/training/FunctionInliner.h"
#include "passes/training/IrEmitter.h"

namespace tessera::partition::pipeline {

using ir::Value;

namespace {

struct Builder {
  StagePlan& plan;
  const ScheduleConfig& c;
  const std::string& mesh;
  const std::string& axis;
  bool reuseForward;

  StatusOr<RankProgram> build(int r, const std::vector<Action>& actions) {
    RankProgram out;
    out.function = "rank" + std::to_string(r);
    if (plan.module->findFunction(out.function))
      return Status::error("pipeline: the module already has a function @" + out.function);
    ir::Function* g = plan.module->addFunction(out.function);
    passes::IrEmitter e(*g, Location{});
    // Arguments: parameters in first-use order, then data per micro-batch.
    std::map<std::string, Value*> params;
    std::vector<std::map<std::string, Value*>> data(c.microBatches);
    const ir::Function* firstFn = nullptr;
    for (int chunk = 0; chunk < c.virtualStages; ++chunk) {
      const Stage& st = plan.stages[c.stageOf(r, chunk)];
      const ir::Function* f = plan.module->findFunction(st.function);
      if (!firstFn) firstFn = f;
      for (size_t i = 0; i < st.args.size(); ++i) {
        const std::string& n = st.args[i];
        const Value* a = f->argument(static_cast<int>(st.inputs.size() + i));
        if (plan.module->findParam(n)) {
          if (!params.count(n)) {
            params[n] = g->addArgument(a->type(), n, a->sharding());
            e.reserveName(n);
            out.params.push_back(n);
          }
        }
      }
    }
    for (int k = 0; k < c.microBatches; ++k)
      for (int chunk = 0; chunk < c.virtualStages; ++chunk) {
        const Stage& st = plan.stages[c.stageOf(r, chunk)];
        const ir::Function* f = plan.module->findFunction(st.function);
        for (size_t i = 0; i < st.args.size(); ++i) {
          const std::string& n = st.args[i];
          if (params.count(n) || data[k].count(n)) continue;
          const Value* a = f->argument(static_cast<int>(st.inputs.size() + i));
          std::string name = n + ".mb" + std::to_string(k);
          data[k][n] = g->addArgument(a->type(), name, a->sharding());
          e.reserveName(name);
          out.data.push_back(name);
        }
      }
    (void)firstFn;

    std::map<std::pair<int, int>, std::vector<Value*>> inputs, outputs, dOutputs, dInputs;
    Value* lossSum = nullptr;
    std::map<std::string, Value*> gradSum;
    std::vector<std::string> gradOrder;
    const int S = c.numStages();
    auto p2p = [&](ir::OpKind kind, Value* v, const ir::TensorType& t, int peer) -> StatusOr<Value*> {
      ir::OpSpec spec{kind, {}, {}, {}, Location{}};
      if (v) spec.operands.push_back(v);
      spec.attrs.emplace_back("axes", ir::AxisList{{axis}});
      spec.attrs.emplace_back("peer", int64_t{peer});
      spec.attrs.emplace_back("mesh", ir::MeshRef{mesh});
      if (!v) spec.declared.push_back(t);
      TRY_ASSIGN(ir::Op * op, g->addOp(std::move(spec)));
      return op->numResults() ? op->result() : nullptr;
    };
    for (const Action& a : actions) {
      const int s = c.stageOf(r, a.chunk), mb = a.microBatch;
      const Stage& st = plan.stages[s];
      const ir::Function* f = plan.module->findFunction(st.function);
      const std::string tag = "." + std::string(a.kind == ActionKind::Forward ? "f" : "b") +
                              std::to_string(mb) + (c.virtualStages > 1 ? "c" + std::to_string(a.chunk) : "");
      switch (a.kind) {
        case ActionKind::Forward:
        case ActionKind::Backward: {
          bool fwd = a.kind == ActionKind::Forward;
          std::vector<Value*> args = inputs[{s, mb}];
          for (const std::string& n : st.args) args.push_back(params.count(n) ? params[n] : data[mb].at(n));
          if (!fwd && s + 1 < S) {
            const auto& d = dOutputs.at({s, mb});
            args.insert(args.end(), d.begin(), d.end());
          }
          const ir::Function* body = fwd ? f : plan.module->findFunction(st.backward);
          TRY_ASSIGN(std::vector<Value*> res, passes::inlineFunction(*body, *g, args, std::nullopt, &e, tag));
          if (fwd) {
            if (s + 1 == S) {
              if (lossSum) {
                TRY_ASSIGN(lossSum, e.add(lossSum, res.at(0), "loss_sum"));
              } else {
                lossSum = res.at(0);
              }
            } else if (c.rankOfStage(s + 1) == r) {
              inputs[{s + 1, mb}] = res;
            } else {
              outputs[{s, mb}] = res;
            }
            break;
          }
          const size_t numIn = st.inputs.size();
          std::vector<Value*> dIn(res.begin() + 1, res.begin() + 1 + static_cast<long>(numIn));
          for (size_t k = 0; k < st.trained.size(); ++k) {
            const std::string& n = st.trained[k];
            Value* gk = res.at(1 + numIn + k);
            if (auto it = gradSum.find(n); it != gradSum.end()) {
              TRY_ASSIGN(it->second, e.add(it->second, gk, "grad_" + n));
            } else {
              gradSum[n] = gk;
              gradOrder.push_back(n);
            }
          }
          if (s > 0 && c.rankOfStage(s - 1) == r) dOutputs[{s - 1, mb}] = dIn;
          else if (s > 0) dInputs[{s, mb}] = dIn;
          break;
        }
        case ActionKind::SendActivation:
          for (Value* v : outputs.at({s, mb})) {
            TRY(p2p(ir::OpKind::Send, v, v->type(), a.peer).status());
            out.activationSends.push_back(true);
          }
          break;
        case ActionKind::SendGradient:
          for (Value* v : dInputs.at({s, mb})) {
            TRY(p2p(ir::OpKind::Send, v, v->type(), a.peer).status());
            out.activationSends.push_back(false);
          }
          break;
        case ActionKind::RecvActivation: {
          std::vector<Value*> got;
          for (int i = 0; i < static_cast<int>(st.inputs.size()); ++i) {
            TRY_ASSIGN(Value * v, p2p(ir::OpKind::Recv, nullptr, f->argument(i)->type(), a.peer));
            got.push_back(v);
          }
          inputs[{s, mb}] = got;
          break;
        }
        case ActionKind::RecvGradient: {
          std::vector<Value*> got;
          for (const Value* o : f->results()) {
            TRY_ASSIGN(Value * v, p2p(ir::OpKind::Recv, nullptr, o->type(), a.peer));
            got.push_back(v);
          }
          dOutputs[{s, mb}] = got;
          break;
        }
      }
    }
    std::vector<Value*> results;
    if (lossSum) {
      results.push_back(lossSum);
      out.hasLoss = true;
    }
    for (const std::string& n : gradOrder) {
      results.push_back(gradSum[n]);
      out.grads.push_back(n);
    }
    g->setResults(results);
    if (reuseForward) {
      // Each backward re-inlined its stage's forward on the same values (StageBackward.h): CSE
      // merges those copies into the forward action's ops, so the backward reads the stored
      // activations instead of recomputing them, and DCE drops the unused surrogates.
      TRY(passes::eliminateCommonSubexpressions(*g).status());
      passes::eliminateDeadOps(*g);
    }
    return out;
  }
};

}  // namespace

StatusOr<std::vector<RankProgram>> buildRankPrograms(StagePlan& plan, const Schedule& schedule,
                                                     const std::string& mesh, const std::string& axis,
                                                     bool reuseForward) {
  const ScheduleConfig& c = schedule.config;
  TRY(checkSchedule(schedule, SendSemantics::Buffered));
  if (c.numStages() != static_cast<int>(plan.stages.size()))
    return Status::error("pipeline: the schedule has " + std::to_string(c.numStages()) +
                         " stages but the model was split into " + std::to_string(plan.stages.size()));
  const ir::Mesh* m = plan.module->findMesh(mesh);
  if (!m) return Status::error("pipeline: the module has no mesh @" + mesh);
  std::optional<int64_t> size = m->axisSize(axis);
  if (!size) return Status::error("pipeline: mesh @" + mesh + " has no axis '" + axis + "'");
  if (*size != c.ranks)
    return Status::error("pipeline: axis '" + axis + "' of mesh @" + mesh + " has size " +
                         std::to_string(*size) + ", the schedule " + std::to_string(c.ranks) + " ranks");
  for (const Stage& st : plan.stages)
    if (st.backward.empty()) return Status::error("pipeline: stage " + st.function + " has no backward function");
  std::vector<RankProgram> out;
  Builder b{plan, c, mesh, axis, reuseForward};
  for (int r = 0; r < c.ranks; ++r) {
    TRY_ASSIGN(RankProgram p, b.build(r, schedule.ranks[r]));
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace tessera::partition::pipeline
