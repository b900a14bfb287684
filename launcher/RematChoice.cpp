// The CLI's remat choice and the engine-backed memory model (RematChoice.h).
#include "launcher/RematChoice.h"

#include <algorithm>
#include <cstdio>
#include <unordered_set>

#include "codegen/Engine.h"
#include "passes/remat/RematApply.h"

namespace tessera::launcher {

EngineMemoryModel::EngineMemoryModel(const passes::TrainStepInfo& info, int threads)
    : parameters_(info.params.begin(), info.params.end()),
      state_(info.state.begin(), info.state.end()),
      threads_(threads) {
  carried_ = info.params;
  carried_.insert(carried_.end(), info.state.begin(), info.state.end());
}

StatusOr<passes::RematMemoryCurve> EngineMemoryModel::measure(
    const ir::Function& f, const std::map<std::string, int64_t>& symbols) const {
  // A scratch copy whose every op result has a name, so the lowering names buffers after them.
  TRY_ASSIGN(passes::FunctionCopy copy, passes::copyFunction(f));
  ir::Function& g = *copy.function;
  std::unordered_set<std::string> taken;
  for (int i = 0; i < g.numArguments(); ++i) taken.insert(g.argument(i)->name());
  for (const auto& op : g.ops())
    for (int r = 0; r < op->numResults(); ++r) taken.insert(op->result(r)->name());
  std::map<std::string, int> producer;  // value name -> op position
  for (int i = 0; i < g.numOps(); ++i) {
    ir::Op& op = *g.ops()[i];
    for (int r = 0; r < op.numResults(); ++r) {
      ir::Value* v = op.result(r);
      if (v->name().empty()) {
        // Not "grad_...": the lowering's category of unnamed values (activation) is kept.
        std::string name = "rm." + std::to_string(i) + "." + std::to_string(r);
        while (taken.count(name)) name += "_";
        taken.insert(name);
        v->setName(name);
      }
      producer[v->name()] = i;
    }
  }
  codegen::EngineOptions eo;
  eo.kernels = codegen::EngineOptions::Kernels::Evaluate;
  eo.parameters = parameters_;
  eo.optimizerState = state_;
  TRY_ASSIGN(codegen::Executable exe, codegen::lowerForPlanning(*copy.module, g.name(), eo));
  std::map<int, int> aliases;
  for (size_t i = 0; i < carried_.size(); ++i) {
    int result = static_cast<int>(i) + 1;
    if (result >= static_cast<int>(g.results().size())) break;
    for (int a = 0; a < g.numArguments(); ++a)
      if (g.argument(a)->name() == carried_[i] &&
          g.argument(a)->type() == g.results()[result]->type())
        aliases[result] = a;
  }
  TRY_ASSIGN(codegen::MemoryTimeline tl,
             codegen::planMemoryTimeline(exe, symbols, aliases, threads_));

  // Each thunk is placed at the latest op whose result it writes (thunks come in op order, but a
  // lazily computed leaf may name an earlier op: positions are made non-decreasing).
  const int n = g.numOps();
  std::vector<int> at(exe.thunks.size(), -1);
  int running = -1;
  for (size_t t = 0; t < exe.thunks.size(); ++t) {
    const codegen::Thunk& th = exe.thunks[t];
    int pos = th.op;
    for (const codegen::BufferView& v : th.views) {
      if (!v.write) continue;
      std::string name = exe.buffers[v.buffer].name;
      auto it = producer.find(name);
      if (it == producer.end() && name.size() > 7 && name.ends_with(".contig"))
        it = producer.find(name.substr(0, name.size() - 7));
      if (it != producer.end()) pos = std::max(pos, it->second);
    }
    running = std::max(running, pos);
    at[t] = running;
  }
  // An op's live bytes: the largest of its thunks'; an op without a thunk of its own (a view, a
  // fused member before the group's last op) takes the next thunk's.
  passes::RematMemoryCurve out;
  out.peak = tl.peakBytes;
  out.live.assign(n, -1);
  for (size_t t = 0; t < exe.thunks.size(); ++t)
    if (at[t] >= 0) out.live[at[t]] = std::max(out.live[at[t]], tl.liveBytes[t]);
  int64_t next = tl.liveBytes.empty() ? tl.argumentBytes : tl.liveBytes.back();
  for (int i = n - 1; i >= 0; --i) {
    if (out.live[i] < 0) out.live[i] = next;
    next = out.live[i];
  }
  return out;
}

StatusOr<passes::RematOutcome> applyRematChoice(ir::Module& m, const passes::TrainStepInfo& info,
                                                passes::RematMode mode, int64_t budget,
                                                const std::map<std::string, int64_t>& symbols,
                                                int threads) {
  passes::RematOptions ro;
  ro.mode = mode;
  ro.function = info.function;
  if (budget > 0) ro.budget = budget;
  ro.symbols = symbols;
  ro.memory = std::make_shared<EngineMemoryModel>(info, threads);
  passes::RematOutcome outcome;
  TRY(passes::runRemat(m, ro, &outcome).status());
  return outcome;
}

std::string rematSummary(const passes::RematOutcome& o, int64_t budget) {
  int count[passes::kRematMenuSize] = {};
  for (passes::RematChoice c : o.choices) ++count[static_cast<int>(c)];
  std::string s = "remat auto:";
  for (passes::RematChoice c : passes::kRematMenu)
    // keep, selective, full always; the later entries (mlp, attn, attn+mlp) when chosen.
    if (static_cast<int>(c) <= static_cast<int>(passes::RematChoice::Full) ||
        count[static_cast<int>(c)] > 0)
      s += std::string(c == passes::RematChoice::Keep ? " " : ", ") +
           std::to_string(count[static_cast<int>(c)]) + " " + passes::rematChoiceName(c);
  std::string plan;
  for (passes::RematChoice c : o.choices) plan += passes::rematChoiceLetter(c);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(o.flops) / 1e9);
  s += " [" + plan + "]; planned peak " + std::to_string(o.peak) + " bytes (budget " +
       std::to_string(budget) + ", engine buffer plan), recomputing " + buf + " GFLOP per step";
  std::snprintf(buf, sizeof buf, " (estimated %.0f ms; %d plan(s) checked)",
                static_cast<double>(o.nanos) / 1e6, o.checks);
  s += buf;
  return s;
}

}  // namespace tessera::launcher
