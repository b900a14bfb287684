// The planner's search (Planner.h): enumerate the mesh shapes and menu choices, price each with
// the cached-block step model, keep the best plan per (dp, tp, pp).
#include "partition/planner/Planner.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>
#include <tuple>

#include "partition/planner/RecomputeProgram.h"
#include "partition/sim/MegatronRecompute.h"

namespace tessera::partition::planner {

namespace {

std::vector<int64_t> divisors(int64_t n) {
  std::vector<int64_t> d;
  for (int64_t i = 1; i <= n; ++i)
    if (n % i == 0) d.push_back(i);
  return d;
}

std::string gb(double bytes) {
  std::ostringstream o;
  o.precision(3);
  o << bytes / 1e9 << " GB";
  return o.str();
}

}  // namespace

PlannerOptions megatronMenu(PlannerOptions o) {
  o.allowSequenceParallel = false;
  o.allowSelectiveRecompute = false;
  o.allowNoRecompute = false;
  o.allowZero1 = false;
  o.allowZero23 = false;
  return o;
}

std::string Plan::describe() const {
  std::ostringstream o;
  o << "dp=" << dp << " tp=" << tp << " pp=" << pp;
  if (ep > 1) o << " ep=" << ep;
  if (virtualStages > 1) o << " v=" << virtualStages;
  o << " mb=" << microBatch << " m=" << microbatches << (sequenceParallel ? " sp" : "")
    << " remat=";
  if (mix.empty()) {
    o << sim::recomputeName(recompute);
    if (fullRecomputeLayers > 0) o << "+" << fullRecomputeLayers << "full";
  } else {
    static const char* names[3] = {"none", "sel", "full"};
    auto counts = [&](const std::array<int64_t, 3>& n) {
      bool first = true;
      for (int i = 0; i < 3; ++i)
        if (n[i] > 0) o << (first ? "" : "+") << n[i] << names[i], first = false;
    };
    counts(mix.dense);
    if (mix.moe[0] + mix.moe[1] + mix.moe[2] > 0) {
      o << " moe:";
      counts(mix.moe);
    }
  }
  if (zero) o << " zero" << zero;
  return o.str();
}

std::string Plan::meshFlag() const {
  std::string s;
  auto add = [&](const char* axis, int64_t n) {
    if (n > 1) s += (s.empty() ? "" : ",") + std::string(axis) + "=" + std::to_string(n);
  };
  add("pp", pp);
  add("dp", dp);
  add("tp", tp);
  return s.empty() ? "dp=1" : s;
}

std::string Plan::parallelFlag() const {
  std::string s;
  auto add = [&](const std::string& x) { s += (s.empty() ? "" : ",") + x; };
  if (dp > 1) add("dp");
  if (tp > 1) add("megatron");
  if (sequenceParallel) add("sequence-parallel");
  if (zero > 0) add("zero=" + std::to_string(zero));
  if (ep > 1 && ep == dp) add("expert-parallel=dp");
  return s;
}

sim::MegatronRun runOf(const TransformerShape& model, const Plan& plan, int64_t gpus,
                       const PlannerOptions& o) {
  sim::MegatronRun r;
  r.name = model.name;
  r.layers = model.layers;
  r.hidden = model.hidden;
  r.heads = model.heads;
  r.seq = model.seq;
  r.vocab = model.vocab;
  r.tp = plan.tp;
  r.pp = plan.pp;
  r.gpus = gpus;
  r.globalBatch = o.globalBatch;
  r.microBatch = plan.microBatch;
  r.virtualStages = plan.virtualStages;
  r.localDdp = o.localDdp;
  r.dtype = o.dtype;
  r.recompute = plan.recompute;
  r.fullRecomputeLayers = plan.fullRecomputeLayers;
  r.mix = plan.mix;
  r.sequenceParallel = plan.sequenceParallel;
  r.zero = plan.zero;
  r.ffn = model.ffn;
  r.moeEvery = model.moeEvery;
  r.experts = model.experts;
  r.topK = model.topK;
  r.capacityFactor = model.capacityFactor;
  r.ep = plan.ep;
  return r;
}

StatusOr<PlanResult> planTransformer(const TransformerShape& model, const cost::ClusterSpec& cluster,
                                     const PlannerOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  auto fail = [&](const std::string& m) { return Status::error("plan " + model.name + ": " + m); };
  if (model.layers < 1 || model.hidden < 1 || model.heads < 1 || model.seq < 1 || model.vocab < 1)
    return fail("layers, hidden, heads, sequence and vocab must be positive");
  if (model.hidden % model.heads) return fail("hidden is not divisible by heads");
  if (o.globalBatch < 1) return fail("the global batch must be positive");
  if (model.moeEvery < 0 || (model.moeEvery > 0 && (model.experts < 1 || model.topK < 1 ||
                                                    model.topK > model.experts || !(model.capacityFactor > 0))))
    return fail("a mixture of experts needs experts >= 1, top-k in 1..experts and a positive capacity factor");
  const int64_t N = cluster.numDevices();
  const double limit = o.memoryLimit > 0 ? o.memoryLimit : cluster.device.memoryBytes;

  std::vector<sim::Recompute> menu;
  if (o.allowNoRecompute) menu.push_back(sim::Recompute::None);
  if (o.allowSelectiveRecompute) menu.push_back(sim::Recompute::Selective);
  menu.push_back(sim::Recompute::Full);

  sim::StageCache cache;
  PlanResult res;
  res.minMemoryBytes = INFINITY;
  // Best plan per (dp, tp, pp, ep).
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t>, Plan> best;
  bool anyDivides = false;

  sim::MegatronPrediction last;  // of the last plan priced
  auto price = [&](Plan p) -> StatusOr<std::optional<Plan>> {
    sim::MegatronRun run = runOf(model, p, N, o);
    TRY_ASSIGN(sim::MegatronPrediction pr, sim::predictMegatron(run, cluster, &cache));
    ++res.candidates;
    res.minMemoryBytes = std::min(res.minMemoryBytes, pr.peakMemoryBytes);
    p.prediction = pr;
    last = pr;
    if (pr.peakMemoryBytes > limit) {
      ++res.rejectedMemory;
      return std::optional<Plan>();
    }
    return std::optional<Plan>(p);
  };

  // `p` (priced just before, over the limit) with the fastest per-layer mix of the menu's items
  // that fits: the recompute program of RecomputeProgram.h over the first stage's layer kinds.
  auto mixed = [&](const Plan& p) -> StatusOr<std::optional<Plan>> {
    const sim::MegatronRun run = runOf(model, p, N, o);
    const sim::MegatronPrediction base = last;
    TRY_ASSIGN(sim::RecomputeTerms t, sim::recomputeTerms(run, cluster, &cache));
    // The end stage with the least room for stored activations binds (both hold the same mix).
    RecomputeProblem prob;
    prob.limitBytes = limit;
    double room = INFINITY, mult = 0;
    for (const auto& st : base.endStageMemory) {
      if (st.storedMultiplier <= 0) {
        if (st.fixedBytes > limit) return std::optional<Plan>();
        continue;
      }
      const double r = (limit - st.fixedBytes) / st.storedMultiplier;
      if (r < room) room = r, mult = st.storedMultiplier, prob.fixedBytes = std::max(0.0, st.fixedBytes);
    }
    if (mult <= 0 || room < 0) return std::optional<Plan>();  // the mix cannot change the memory
    for (int kind = 0; kind < 2; ++kind) {
      if (t.layers[kind] == 0) continue;
      RecomputeKind k{kind == 0 ? "dense" : "moe", t.layers[kind], {}, {}};
      for (sim::Recompute item : menu) {
        k.seconds.push_back(t.seconds[kind][static_cast<int>(item)]);
        k.bytes.push_back(t.storedBytes[kind][static_cast<int>(item)] * mult);
      }
      prob.kinds.push_back(std::move(k));
    }
    // A stage holding more MoE layers than the first may still be over: tighten by its excess.
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto s0 = std::chrono::steady_clock::now();
      TRY_ASSIGN(RecomputeSolution sol, solveRecompute(prob, o.recomputeSolver));
      res.recomputeSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
      ++res.recomputePrograms;
      if (!sol.feasible) return std::optional<Plan>();
      Plan q = p;
      size_t at = 0;
      for (int kind = 0; kind < 2; ++kind) {
        if (t.layers[kind] == 0) continue;
        auto& dst = kind == 0 ? q.mix.dense : q.mix.moe;
        for (size_t i = 0; i < menu.size(); ++i) dst[static_cast<int>(menu[i])] = sol.counts[at][i];
        ++at;
      }
      TRY_ASSIGN(auto fit, price(q));
      if (fit) return fit;
      prob.limitBytes -= last.peakMemoryBytes - limit;
      if (prob.limitBytes <= 0) break;
    }
    return std::optional<Plan>();
  };

  for (int64_t tp = 1; tp <= std::min(o.maxTp, cluster.devicesPerNode); tp *= 2) {
    if (model.heads % tp || model.vocab % tp || N % tp) continue;
    for (int64_t pp : divisors(model.layers)) {
      if (!o.allowPipeline && pp > 1) break;
      if (N % (tp * pp)) continue;
      const int64_t d = N / (tp * pp);
      if (o.globalBatch % d) continue;
      // dp groups must sit evenly in the nodes (predictMegatron rejects the others).
      const int64_t span = tp * d, node = cluster.devicesPerNode;
      if (span % node != 0 && node % span != 0) continue;
      const int64_t perReplica = o.globalBatch / d;
      for (int64_t mb = 1; mb <= o.maxMicroBatch && mb <= perReplica; mb *= 2) {
        if (perReplica % mb) continue;
        const int64_t m = perReplica / mb;
        const int64_t perStage = model.layers / pp;
        for (int64_t v : divisors(perStage)) {
          if (v > 1 && (!o.allowInterleave || pp == 1 || m % pp)) continue;
          for (int spi = 0; spi < 2; ++spi) {
            const bool sp = spi == 1;
            if (sp && (tp == 1 || !o.allowSequenceParallel || (mb * model.seq) % tp)) continue;
            for (sim::Recompute rc : menu) {
              const int maxZero = d == 1 ? 0 : o.allowZero23 ? 3 : o.allowZero1 ? 1 : 0;
              for (int zero = 0; zero <= maxZero; ++zero) {
                if (zero == 1 && !o.allowZero1) continue;
                for (int64_t ep : divisors(d)) {
                if (ep > 1 && (model.moeEvery == 0 || model.experts % ep || ep > o.maxEp)) continue;
                anyDivides = true;
                Plan p;
                p.dp = d, p.tp = tp, p.pp = pp, p.virtualStages = v, p.microBatch = mb, p.microbatches = m;
                p.recompute = rc, p.sequenceParallel = sp, p.zero = zero, p.ep = ep;
                TRY_ASSIGN(auto ok, price(p));
                // Over the limit on this menu item: the fastest per-layer mix of the menu's
                // items that fits (only then: the search stays a few arithmetic terms per plan).
                auto key = std::make_tuple(d, tp, pp, ep);
                auto it = best.find(key);
                // On the menu's fastest item (recomputing only adds work) the plan over the limit
                // bounds every mix from below: skip the program when this (dp, tp, pp, ep)
                // already has a plan as fast.
                const bool beaten = rc == menu.front() && it != best.end() &&
                                    it->second.prediction.stepSeconds <= last.stepSeconds;
                if (!ok && rc != sim::Recompute::Full && menu.size() > 1 && !beaten) {
                  TRY_ASSIGN(ok, mixed(p));
                }
                if (!ok) continue;
                it = best.find(key);
                if (it == best.end() || ok->prediction.stepSeconds < it->second.prediction.stepSeconds)
                  best[key] = *ok;
                }
              }
            }
          }
        }
      }
    }
  }
  res.blocksSimulated = cache.size();
  if (!anyDivides)
    return fail("no plan divides the global batch " + std::to_string(o.globalBatch) + " over " +
                std::to_string(N) + " devices (data-parallel degree x micro-batch must divide it, "
                "with tp a power of two dividing the heads and the vocab, pp dividing the layers)");
  if (best.empty())
    return fail("no plan fits " + gb(limit) + " per device: the smallest needs at least " +
                gb(res.minMemoryBytes) + " per device (" + std::to_string(res.candidates) + " plans tried)");
  std::vector<Plan> all;
  for (auto& [k, p] : best) all.push_back(p);
  std::sort(all.begin(), all.end(), [](const Plan& a, const Plan& b) {
    return a.prediction.stepSeconds < b.prediction.stepSeconds;
  });
  res.best = all[0];
  for (size_t i = 1; i < all.size() && static_cast<int>(i) <= o.runnersUp; ++i) res.runnersUp.push_back(all[i]);
  res.searchSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace tessera::partition::planner
