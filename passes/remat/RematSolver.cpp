// Measuring remat choices and the exact dynamic program over the layers (RematSolver.h).
#include "passes/remat/RematSolver.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "passes/remat/RematApply.h"

namespace tessera::passes {

std::vector<int64_t> anchorCurve(const std::vector<int64_t>& curve,
                                 const std::vector<bool>& isClone) {
  assert(curve.size() == isClone.size());
  std::vector<int64_t> out;
  int64_t pending = std::numeric_limits<int64_t>::min();
  for (size_t i = 0; i < curve.size(); ++i) {
    pending = std::max(pending, curve[i]);
    if (isClone[i]) continue;
    out.push_back(pending);
    pending = std::numeric_limits<int64_t>::min();
  }
  return out;
}

StatusOr<RematCosts> measureRematCosts(const ir::Function& f, const RematLayers& layers,
                                       const std::map<std::string, int64_t>& symbols) {
  return measureRematCosts(f, layers, symbols, EstimatorMemoryModel());
}

StatusOr<RematCosts> measureRematCosts(const ir::Function& f, const RematLayers& layers,
                                       const std::map<std::string, int64_t>& symbols,
                                       const RematMemoryModel& model) {
  return measureRematCosts(f, layers, symbols, model, RecomputeRates{});
}

StatusOr<RematCosts> measureRematCosts(const ir::Function& f, const RematLayers& layers,
                                       const std::map<std::string, int64_t>& symbols,
                                       const RematMemoryModel& model, const RecomputeRates& rates) {
  RematCosts costs;
  TRY_ASSIGN(RematMemoryCurve base, model.measure(f, symbols));
  costs.base = std::move(base.live);
  costs.layers.resize(layers.layers.size());
  for (size_t l = 0; l < layers.layers.size(); ++l) {
    for (RematChoice c : kRematMenu) {
      if (layers.layers[l].recompute(c).empty()) continue;
      // An entry recomputing the same ops as an earlier one (mlp where no GELU has a stored GEMM
      // input) is that entry: copied, not measured again.
      bool same = false;
      for (RematChoice d : kRematMenu) {
        if (d == c) break;
        if (layers.layers[l].recompute(d) == layers.layers[l].recompute(c)) {
          costs.layers[l][static_cast<int>(c)] = costs.layers[l][static_cast<int>(d)];
          same = true;
          break;
        }
      }
      if (same) continue;
      TRY_ASSIGN(FunctionCopy copy, copyFunction(f));
      std::vector<RematChoice> choices(layers.layers.size(), RematChoice::Keep);
      choices[l] = c;
      TRY_ASSIGN(RematApplied applied, applyRemat(*copy.function, layers, choices, &symbols, rates));
      TRY_ASSIGN(RematMemoryCurve measured, model.measure(*copy.function, symbols));
      const std::vector<int64_t>& curve = measured.live;
      std::vector<bool> isClone(curve.size(), false);
      size_t k = 0;
      for (size_t i = 0; i < curve.size() && k < applied.clones.size(); ++i)
        if (copy.function->ops()[i].get() == applied.clones[k]) {
          isClone[i] = true;
          ++k;
        }
      std::vector<int64_t> anchored = anchorCurve(curve, isClone);
      assert(anchored.size() == costs.base.size());
      RematCosts::Entry& e = costs.layers[l][static_cast<int>(c)];
      e.flops = applied.flops;
      e.nanos = applied.nanos;
      for (size_t t = 0; t < anchored.size(); ++t)
        if (anchored[t] != costs.base[t])
          e.delta.emplace_back(static_cast<int>(t), anchored[t] - costs.base[t]);
    }
  }
  return costs;
}

int64_t predictedPeak(const RematCosts& costs, const std::vector<RematChoice>& choices) {
  std::vector<int64_t> live = costs.base;
  for (size_t l = 0; l < choices.size(); ++l)
    for (const auto& [t, d] : costs.layers[l][static_cast<int>(choices[l])].delta) live[t] += d;
  return live.empty() ? 0 : *std::max_element(live.begin(), live.end());
}

namespace {

struct Partial {
  std::vector<int64_t> sums;  // per anchor; 0 where no earlier layer changed it or it is final
  int64_t decided = 0;        // largest final live bytes so far
  int64_t nanos = 0;
  int64_t flops = 0;
  std::vector<RematChoice> choices;
  std::pair<int64_t, int64_t> cost() const { return {nanos, flops}; }
};

// useCost: the objective is the cost (time, then FLOPs); otherwise only the peak matters.
bool dominates(const Partial& a, const Partial& b, bool useCost) {
  if (a.decided > b.decided || (useCost && a.cost() > b.cost())) return false;
  for (size_t t = 0; t < a.sums.size(); ++t)
    if (a.sums[t] > b.sums[t]) return false;
  return true;
}

std::vector<Partial> frontier(std::vector<Partial> states, bool useCost) {
  std::stable_sort(states.begin(), states.end(), [&](const Partial& a, const Partial& b) {
    if (useCost) return std::make_pair(a.cost(), a.decided) < std::make_pair(b.cost(), b.decided);
    return std::make_pair(a.decided, a.cost()) < std::make_pair(b.decided, b.cost());
  });
  std::vector<Partial> kept;
  for (Partial& s : states) {
    bool dominated = false;
    for (const Partial& k : kept)
      if (dominates(k, s, useCost)) {
        dominated = true;
        break;
      }
    if (!dominated) kept.push_back(std::move(s));
  }
  return kept;
}

std::optional<RematSolution> solve(const RematCosts& costs, int64_t budget, bool useCost) {
  const int n = static_cast<int>(costs.base.size());
  const int L = static_cast<int>(costs.layers.size());
  // The last layer that can change each anchor; anchors no layer changes are final from the start.
  std::vector<int> lastLayer(n, -1);
  for (int l = 0; l < L; ++l)
    for (const auto& entry : costs.layers[l])
      for (const auto& [t, d] : entry.delta) lastLayer[t] = std::max(lastLayer[t], l);
  std::vector<std::vector<int>> finalAt(L);
  Partial start;
  start.sums.assign(n, 0);
  start.decided = 0;
  for (int t = 0; t < n; ++t) {
    if (lastLayer[t] < 0)
      start.decided = std::max(start.decided, costs.base[t]);
    else
      finalAt[lastLayer[t]].push_back(t);
  }
  if (start.decided > budget) return std::nullopt;
  std::vector<Partial> states{start};
  for (int l = 0; l < L; ++l) {
    std::vector<Partial> next;
    for (const Partial& s : states)
      for (RematChoice c : kRematMenu) {
        const RematCosts::Entry& e = costs.layers[l][static_cast<int>(c)];
        // An empty menu entry other than keep is the same plan as keep: skip the duplicate.
        if (c != RematChoice::Keep && e.delta.empty() && e.flops == 0 && e.nanos == 0) continue;
        Partial p = s;
        for (const auto& [t, d] : e.delta) p.sums[t] += d;
        for (int t : finalAt[l]) {
          p.decided = std::max(p.decided, costs.base[t] + p.sums[t]);
          p.sums[t] = 0;
        }
        if (p.decided > budget) continue;
        p.flops += e.flops;
        p.nanos += e.nanos;
        p.choices.push_back(c);
        next.push_back(std::move(p));
      }
    states = frontier(std::move(next), useCost);
    if (states.empty()) return std::nullopt;
  }
  const Partial* best = nullptr;
  for (const Partial& s : states) {
    if (!best) { best = &s; continue; }
    const auto key = [&](const Partial& p) {
      return useCost ? std::make_tuple(p.nanos, p.flops, p.decided)
                     : std::make_tuple(p.decided, p.nanos, p.flops);
    };
    bool better = key(s) < key(*best);
    if (better) best = &s;
  }
  return RematSolution{best->choices, best->decided, best->flops, best->nanos};
}

}  // namespace

std::optional<RematSolution> solveMinRecompute(const RematCosts& costs, int64_t budget) {
  return solve(costs, budget, true);
}

RematSolution solveMinPeak(const RematCosts& costs) {
  std::optional<RematSolution> s = solve(costs, std::numeric_limits<int64_t>::max(), false);
  assert(s && "an unbounded budget always has a plan");
  return *s;
}

}  // namespace tessera::passes
