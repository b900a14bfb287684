// Splitting a forward function into pipeline stage functions (StageSplit.h).
#include "partition/pipeline/StageSplit.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <limits>
#include <set>
#include <unordered_map>

#include "partition/cost/OpCost.h"

namespace tessera::partition::pipeline {

using ir::Value;

namespace {

Status failAt(const ir::Function& f, const std::string& message) {
  return f.loc.known() ? Status::error(f.loc, message) : Status::error(message);
}

std::string label(const Value* v) { return v->name().empty() ? "an unnamed value" : "%" + v->name(); }

class Splitter {
 public:
  Splitter(const ir::Function& f, const SplitOptions& o) : f_(f), o_(o) {}

  StatusOr<StagePlan> run() {
    for (size_t i = 0; i < f_.ops().size(); ++i) {
      const ir::Op* op = f_.ops()[i].get();
      index_[op] = i;
      bool free = true;
      for (const Value* v : op->operands()) free = free && !v->isArgument() && free_.count(v->definingOp());
      if (free && !op->info().hasSideEffect()) free_.insert(op);
      for (int r = 0; r < op->numResults(); ++r)
        if (!op->result(r)->name().empty()) byName_[op->result(r)->name()] = op->result(r);
    }
    for (int l = 0;; ++l) {
      auto it = byName_.find("h" + std::to_string(l) + ".out");
      if (it == byName_.end()) break;
      layerEnds_.push_back(it->second);
    }
    const int L = static_cast<int>(layerEnds_.size()), S = o_.stages;
    if (L == 0)
      return failAt(f_, "pipeline split of @" + f_.name() +
                            ": no layer boundaries (values named %h0.out, %h1.out, ...)");
    if (S < 1) return failAt(f_, "pipeline split: at least 1 stage is needed, got " + std::to_string(S));
    if (S > L)
      return failAt(f_, "pipeline split of @" + f_.name() + ": more stages (" + std::to_string(S) +
                            ") than layers (" + std::to_string(L) + ")");
    TRY(chooseCuts());
    TRY(assignAndCheck());
    return build();
  }

 private:
  size_t indexOf(const Value* v) const { return index_.at(v->definingOp()); }

  // FLOPs of the non-free ops with index in (lo, hi].
  StatusOr<double> costBetween(long lo, long hi) const {
    cost::SymbolValues syms;
    for (const ir::SymbolDecl& s : f_.module()->symbols) syms[s.name] = std::max<int64_t>(1, s.divisibleBy);
    for (const auto& [k, v] : o_.symbols) syms[k] = v;
    double total = 0;
    for (long i = lo + 1; i <= hi; ++i) {
      const ir::Op& op = *f_.ops()[i];
      if (free_.count(&op)) continue;
      TRY_ASSIGN(cost::OpCost c, cost::opCost(op, syms));
      total += c.flops;
    }
    return total;
  }

  Status chooseCuts() {
    const int L = static_cast<int>(layerEnds_.size()), S = o_.stages;
    if (!o_.cuts.empty()) {
      if (static_cast<int>(o_.cuts.size()) != S - 1)
        return failAt(f_, "pipeline split: " + std::to_string(S) + " stages need " +
                              std::to_string(S - 1) + " cuts, got " + std::to_string(o_.cuts.size()));
      for (size_t k = 0; k < o_.cuts.size(); ++k) {
        const std::string& c = o_.cuts[k];
        const Value* v = nullptr;
        bool number = !c.empty() && std::all_of(c.begin(), c.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); });
        if (number) {
          long layer = std::stol(c);
          if (layer < 1 || layer > L - 1)
            return failAt(f_, "pipeline cut " + std::to_string(k) + " ('" + c +
                                  "'): a stage can start at layers 1.." + std::to_string(L - 1));
          v = layerEnds_[layer - 1];
        } else {
          std::string name = c.rfind('%', 0) == 0 ? c.substr(1) : c;
          auto it = byName_.find(name);
          if (it == byName_.end())
            return failAt(f_, "pipeline cut " + std::to_string(k) + ": @" + f_.name() +
                                  " computes no value %" + name);
          v = it->second;
        }
        if (!cutValues_.empty() && indexOf(v) <= indexOf(cutValues_.back()))
          return failAt(f_, "pipeline cut " + std::to_string(k) + " ('" + c +
                                "') does not come after the previous cut");
        cutValues_.push_back(v);
      }
      return Status::ok();
    }
    // Balanced: per-layer cost (embedding with layer 0, head and loss with the last layer),
    // then the contiguous split of the layers that minimizes the costliest stage.
    std::vector<double> layer(L);
    for (int l = 0; l < L; ++l) {
      long lo = l == 0 ? -1 : static_cast<long>(indexOf(layerEnds_[l - 1]));
      long hi = l == L - 1 ? static_cast<long>(f_.ops().size()) - 1 : static_cast<long>(indexOf(layerEnds_[l]));
      TRY_ASSIGN(layer[l], costBetween(lo, hi));
    }
    std::vector<double> prefix(L + 1, 0);
    for (int l = 0; l < L; ++l) prefix[l + 1] = prefix[l] + layer[l];
    const double inf = std::numeric_limits<double>::infinity();
    // best[s][j]: the cheapest max-stage cost of layers [0, j) in s stages; from[s][j] its last cut.
    std::vector<std::vector<double>> best(S + 1, std::vector<double>(L + 1, inf));
    std::vector<std::vector<int>> from(S + 1, std::vector<int>(L + 1, 0));
    best[0][0] = 0;
    for (int s = 1; s <= S; ++s)
      for (int j = s; j <= L; ++j)
        for (int i = s - 1; i < j; ++i) {
          double c = std::max(best[s - 1][i], prefix[j] - prefix[i]);
          if (c < best[s][j]) best[s][j] = c, from[s][j] = i;
        }
    std::vector<int> starts;
    for (int s = S, j = L; s > 1; --s) {
      j = from[s][j];
      starts.push_back(j);
    }
    std::reverse(starts.begin(), starts.end());
    for (int start : starts) cutValues_.push_back(layerEnds_[start - 1]);
    return Status::ok();
  }

  int stageOfIndex(size_t i) const {
    int s = 0;
    for (const Value* c : cutValues_) s += indexOf(c) < i;
    return s;
  }

  // Records that `v` (defined in stage d) is needed in stage t > d.
  void need(const Value* v, int t) {
    for (int b = stageOfIndex(indexOf(v)); b < t; ++b) crossing_[b].insert(v);
  }

  Status assignAndCheck() {
    const int S = o_.stages;
    crossing_.assign(S, {});
    stageArgs_.assign(S, {});
    for (const auto& opPtr : f_.ops()) {
      const ir::Op* op = opPtr.get();
      if (free_.count(op)) continue;
      int t = stageOfIndex(index_[op]);
      for (const Value* v : op->operands()) {
        if (v->isArgument()) stageArgs_[t].insert(v->resultIndex());
        else if (!free_.count(v->definingOp())) need(v, t);
      }
    }
    for (const Value* v : f_.results()) {
      if (v->isArgument()) stageArgs_[S - 1].insert(v->resultIndex());
      else if (!free_.count(v->definingOp())) need(v, S - 1);
    }
    for (int b = 0; b + 1 < S; ++b)
      for (const Value* v : crossing_[b]) {
        if (v == cutValues_[b] || v->type().rank() == 0) continue;
        std::string msg = "pipeline cut " + std::to_string(b) + " at " + label(cutValues_[b]) +
                          " would cut the residual " + label(v) + " (" + v->type().str() +
                          "), computed before the cut and used after it: cut at a layer "
                          "boundary (%h<N>.out) instead";
        const ir::Op* def = v->definingOp();
        return def->loc().known() ? Status::error(def->loc(), msg) : failAt(f_, msg);
      }
    return Status::ok();
  }

  StatusOr<StagePlan> build() {
    const int S = o_.stages;
    StagePlan plan;
    plan.module = std::make_unique<ir::Module>(f_.module()->name);
    plan.module->meshes = f_.module()->meshes;
    plan.module->symbols = f_.module()->symbols;
    plan.module->params = f_.module()->params;
    plan.numLayers = static_cast<int>(layerEnds_.size());
    plan.forward = f_.name();
    for (const Value* c : cutValues_) plan.cuts.push_back(c->name());
    int layersBefore = 0;
    for (int t = 0; t < S; ++t) {
      Stage st;
      st.function = "stage" + std::to_string(t);
      ir::Function* g = plan.module->addFunction(st.function);
      g->loc = f_.loc;
      g->returnLoc = f_.returnLoc;
      std::unordered_map<const Value*, Value*> map;
      auto sorted = [&](const std::set<const Value*>& s) {
        std::vector<const Value*> v(s.begin(), s.end());
        std::sort(v.begin(), v.end(), [&](const Value* a, const Value* b) { return indexOf(a) < indexOf(b); });
        return v;
      };
      if (t > 0) {
        int k = 0;
        for (const Value* v : sorted(crossing_[t - 1])) {
          std::string name = v->name().empty() ? "cut" + std::to_string(t - 1) + "." + std::to_string(k) : v->name();
          map[v] = g->addArgument(v->type(), name, v->sharding());
          st.inputs.push_back(name);
          ++k;
        }
      }
      for (int a : stageArgs_[t]) {
        const Value* v = f_.argument(a);
        map[v] = g->addArgument(v->type(), v->name(), v->sharding());
        st.args.push_back(v->name());
      }
      // Ops: the stage's own, plus the argument-free ones it uses (recomputed here).
      std::set<const ir::Op*> wanted;
      for (const auto& opPtr : f_.ops())
        if (!free_.count(opPtr.get()) && stageOfIndex(index_[opPtr.get()]) == t) wanted.insert(opPtr.get());
      std::vector<const Value*> roots;
      for (const ir::Op* op : wanted) roots.insert(roots.end(), op->operands().begin(), op->operands().end());
      if (t == S - 1) roots.insert(roots.end(), f_.results().begin(), f_.results().end());
      while (!roots.empty()) {
        const Value* v = roots.back();
        roots.pop_back();
        const ir::Op* def = v->definingOp();
        if (!def || !free_.count(def) || !wanted.insert(def).second) continue;
        roots.insert(roots.end(), def->operands().begin(), def->operands().end());
      }
      for (const auto& opPtr : f_.ops()) {
        const ir::Op* op = opPtr.get();
        if (!wanted.count(op)) continue;
        ir::OpSpec spec{op->kind(), {}, {}, {}, op->loc()};
        for (const Value* v : op->operands()) spec.operands.push_back(map.at(v));
        const auto& attrSpecs = op->info().attrs;
        for (size_t i = 0; i < attrSpecs.size(); ++i)
          if (const auto& a = op->attrSlot(static_cast<int>(i))) spec.attrs.emplace_back(attrSpecs[i].name, *a);
        for (int r = 0; r < op->numResults(); ++r) spec.declared.push_back(op->result(r)->type());
        TRY_ASSIGN(ir::Op * copy, g->addOp(std::move(spec)));
        for (int r = 0; r < op->numResults(); ++r) {
          copy->result(r)->setName(op->result(r)->name());
          if (op->result(r)->sharding()) copy->result(r)->setSharding(op->result(r)->sharding());
          map[op->result(r)] = copy->result(r);
        }
        if (!free_.count(op)) {
          TRY_ASSIGN(double c, costBetween(static_cast<long>(index_[op]) - 1, static_cast<long>(index_[op])));
          st.cost += c;
        }
      }
      std::vector<Value*> results;
      if (t + 1 < S) {
        for (const Value* v : sorted(crossing_[t])) {
          results.push_back(map.at(v));
          st.outputs.push_back(results.back()->name());
        }
      } else {
        for (const Value* v : f_.results()) results.push_back(map.at(v));
      }
      g->setResults(results);
      // Layers: the boundaries h<l>.out at or before this stage's last op.
      int layersAfter = static_cast<int>(layerEnds_.size());
      if (t + 1 < S) {
        layersAfter = 0;
        for (const Value* e : layerEnds_) layersAfter += indexOf(e) <= indexOf(cutValues_[t]);
      }
      st.firstLayer = layersBefore;
      st.endLayer = layersAfter;
      layersBefore = layersAfter;
      plan.stages.push_back(std::move(st));
    }
    return plan;
  }

  const ir::Function& f_;
  const SplitOptions& o_;
  std::unordered_map<const ir::Op*, size_t> index_;
  std::set<const ir::Op*> free_;
  std::map<std::string, const Value*> byName_;
  std::vector<const Value*> layerEnds_;
  std::vector<const Value*> cutValues_;
  std::vector<std::set<const Value*>> crossing_;  // per boundary b (between stage b and b+1)
  std::vector<std::set<int>> stageArgs_;
};

}  // namespace

StatusOr<StagePlan> splitStages(const ir::Function& forward, const SplitOptions& options) {
  return Splitter(forward, options).run();
}

std::string printStagePlan(const StagePlan& plan) {
  std::string out;
  for (size_t s = 0; s < plan.stages.size(); ++s) {
    const Stage& st = plan.stages[s];
    out += "stage " + std::to_string(s) + ": layers [" + std::to_string(st.firstLayer) + "," +
           std::to_string(st.endLayer) + ")";
    auto list = [](const std::vector<std::string>& v) {
      std::string r;
      for (const std::string& n : v) r += (r.empty() ? "%" : ", %") + n;
      return r;
    };
    if (!st.inputs.empty()) out += " in " + list(st.inputs);
    if (!st.outputs.empty()) out += " -> out " + list(st.outputs);
    char buf[64];
    std::snprintf(buf, sizeof buf, ", %zu args, %.3g FLOP", st.args.size(), st.cost);
    out += buf;
    out += "\n";
  }
  return out;
}

}  // namespace tessera::partition::pipeline
