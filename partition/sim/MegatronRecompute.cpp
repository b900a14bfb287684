// Per-layer recompute mixes and their linear terms (MegatronRecompute.h).
#include "partition/sim/MegatronRecompute.h"

#include <algorithm>

namespace tessera::partition::sim {

namespace {
constexpr Recompute kItems[3] = {Recompute::None, Recompute::Selective, Recompute::Full};
int idx(Recompute r) { return static_cast<int>(r); }
}  // namespace

bool RecomputeMix::empty() const { return layers() == 0; }

int64_t RecomputeMix::layers() const {
  int64_t n = 0;
  for (int i = 0; i < 3; ++i) n += dense[i] + moe[i];
  return n;
}

MegatronStageConfig layerConfigOf(const MegatronRun& run, bool moe, Recompute item) {
  MegatronStageConfig sc;
  sc.layers = 1;
  sc.hidden = run.hidden;
  sc.heads = run.heads;
  sc.seq = run.seq;
  sc.microBatch = run.microBatch;
  sc.tp = run.tp;
  sc.vocab = run.vocab;
  sc.accumulateMainGrads = run.localDdp && !run.fusedGradAccumulation;
  sc.recompute = item;
  sc.sequenceParallel = run.sequenceParallel && run.tp > 1;
  sc.dtype = run.dtype;
  sc.ffn = run.ffn;
  if (moe) {
    sc.experts = run.experts;
    sc.topK = run.topK;
    sc.capacityFactor = run.capacityFactor;
    sc.ep = run.ep;
  }
  return sc;
}

Status checkRecomputeMix(const MegatronRun& run) {
  auto bad = [&](const std::string& m) { return Status::error("megatron run " + run.name + ": " + m); };
  const int64_t ls = run.layers / run.pp;
  if (!run.mix.empty()) {
    int64_t moe = 0;
    for (int i = 0; i < 3; ++i) {
      if (run.mix.dense[i] < 0 || run.mix.moe[i] < 0) return bad("a recompute mix has a negative count");
      moe += run.mix.moe[i];
    }
    if (run.mix.layers() != ls)
      return bad("the recompute mix places " + std::to_string(run.mix.layers()) + " layers, a stage has " +
                 std::to_string(ls));
    if (moe != moeLayersOnRank(run, 0))
      return bad("the recompute mix places " + std::to_string(moe) + " MoE layers, the first stage has " +
                 std::to_string(moeLayersOnRank(run, 0)));
    return Status::ok();
  }
  const int64_t kFull = run.recompute == Recompute::Full ? 0 : run.fullRecomputeLayers;
  if (kFull < 0 || (kFull > 0 && kFull > ls - 1))
    return bad("full-recompute layers must be between 0 and the stage's layers - 1");
  const int64_t moeMax = maxMoeLayersPerRank(run);
  if (kFull > ls - moeMax)
    return bad("full-recompute layers (" + std::to_string(kFull) + ") exceed a stage's dense layers (" +
               std::to_string(ls - moeMax) + ")");
  return Status::ok();
}

RecomputeMix mixOnRank(const MegatronRun& run, int64_t r) {
  const int64_t ls = run.layers / run.pp, nMoe = moeLayersOnRank(run, r);
  RecomputeMix out;
  if (run.mix.empty()) {
    const int64_t kFull = run.recompute == Recompute::Full ? 0 : run.fullRecomputeLayers;
    out.dense[idx(run.recompute)] += ls - nMoe - kFull;
    out.dense[idx(Recompute::Full)] += kFull;
    out.moe[idx(run.recompute)] += nMoe;
    return out;
  }
  // MoE layers take the mix's MoE positions (most recomputed first), then any other positions.
  int64_t left = nMoe;
  std::array<int64_t, 3> pool;
  for (int i = 0; i < 3; ++i) pool[i] = run.mix.dense[i] + run.mix.moe[i];
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 2; i >= 0 && left > 0; --i) {
      const int64_t avail = pass == 0 ? run.mix.moe[i] - out.moe[i] : pool[i] - out.moe[i];
      const int64_t take = std::min(left, std::max<int64_t>(0, avail));
      out.moe[i] += take;
      left -= take;
    }
  for (int i = 0; i < 3; ++i) out.dense[i] = pool[i] - out.moe[i];
  return out;
}

StatusOr<RecomputeTerms> recomputeTerms(const MegatronRun& run, const cost::ClusterSpec& c, StageCache* cache) {
  StageCache local;
  StageCache& sims = cache ? *cache : local;
  RecomputeTerms t;
  t.layers[1] = moeLayersOnRank(run, 0);
  t.layers[0] = run.layers / run.pp - t.layers[1];
  for (int kind = 0; kind < 2; ++kind) {
    if (t.layers[kind] == 0) continue;
    for (Recompute item : kItems) {
      TRY_ASSIGN(LayerSim s, sims.get(layerConfigOf(run, kind == 1, item), c));
      t.seconds[kind][idx(item)] = s.seconds;
      t.storedBytes[kind][idx(item)] = s.storedBytes;
    }
  }
  return t;
}

}  // namespace tessera::partition::sim
