// Per-layer recompute mixes in the step model and the planner (MegatronRecompute.h,
// Planner.h): the older "k full + the rest on one item" form prices exactly as the equivalent
// mix; a mix's time and memory are the per-(kind, item) layer terms summed; the planner's mix
// under a memory limit is the fastest of every mix priced directly (brute force over all counts);
// the other stages follow the first's positions; bad mixes are errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "partition/planner/Planner.h"
#include "tests/unit/planner/TestCluster.h"
#include "partition/sim/MegatronRecompute.h"

namespace tessera::partition::planner {
namespace {

sim::MegatronRun midRun() {
  sim::MegatronRun r;
  r.name = "mid";
  r.layers = 16, r.hidden = 4096, r.heads = 32, r.seq = 2048, r.vocab = 51200;
  r.tp = 2, r.pp = 2, r.gpus = 8, r.globalBatch = 16, r.microBatch = 2;
  r.recompute = sim::Recompute::None;
  return r;
}

TEST(RecomputeMix, OldFormPricesAsItsMix) {
  cost::ClusterSpec c = cluster("1x8:a100-80g");
  sim::MegatronRun old = midRun();
  old.recompute = sim::Recompute::Selective;
  old.fullRecomputeLayers = 3;
  sim::MegatronRun mix = old;
  mix.fullRecomputeLayers = 0;
  mix.mix.dense = {0, 5, 3};  // 8 layers per stage: 5 selective, 3 full
  sim::StageCache cache;
  auto a = sim::predictMegatron(old, c, &cache);
  auto b = sim::predictMegatron(mix, c, &cache);
  ASSERT_TRUE(a.isOk()) << a.status().message();
  ASSERT_TRUE(b.isOk()) << b.status().message();
  EXPECT_NEAR(a->stepSeconds, b->stepSeconds, 1e-12 * a->stepSeconds);
  EXPECT_NEAR(a->peakMemoryBytes, b->peakMemoryBytes, 1e-9 * a->peakMemoryBytes);
}

// Moving one layer from none to full changes the slowest stage's micro-batch time by the two
// layer programs' difference, and the first stage's memory by (in flight - 1) / layers times
// their stored activations' difference (MegatronEstimate.h: the first stage holds L/p * min(p, m)
// layer-micro-batches under 1F1B).
TEST(RecomputeMix, MixIsLinearInTheLayerTerms) {
  cost::ClusterSpec c = cluster("1x8:a100-80g");
  sim::StageCache cache;
  sim::MegatronRun a = midRun();
  a.mix.dense = {8, 0, 0};
  sim::MegatronRun b = a;
  b.mix.dense = {7, 0, 1};
  auto pa = sim::predictMegatron(a, c, &cache);
  auto pb = sim::predictMegatron(b, c, &cache);
  ASSERT_TRUE(pa.isOk() && pb.isOk());
  auto t = sim::recomputeTerms(a, c, &cache);
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->layers[0], 8);
  EXPECT_EQ(t->layers[1], 0);
  const double dt = t->seconds[0][2] - t->seconds[0][0], ds = t->storedBytes[0][2] - t->storedBytes[0][0];
  EXPECT_GT(dt, 0);  // full recompute re-runs the forward
  EXPECT_LT(ds, 0);  // and keeps only the layer's input
  EXPECT_NEAR(pb->microbatchSeconds - pa->microbatchSeconds, dt, 1e-9 * pa->microbatchSeconds);
  // m = 16 / (2 * 2) = 4 micro-batches, p = 2: 8 * 2 = 16 layer-micro-batches in flight.
  const double inflight = 8.0 * 2;
  EXPECT_NEAR(pb->peakMemoryBytes - pa->peakMemoryBytes, (inflight - 1) / 8 * ds, 1e-6 * pa->peakMemoryBytes);
  ASSERT_EQ(pa->endStageMemory.size(), 2u);
  EXPECT_DOUBLE_EQ(pa->endStageMemory[0].storedMultiplier, (inflight - 1) / 8);
  EXPECT_DOUBLE_EQ(pa->endStageMemory[1].storedMultiplier, (8.0 - 1) / 8);  // the last stage: one micro-batch each
}

TEST(RecomputeMix, OtherStagesFollowTheFirstStagesPositions) {
  // 12 layers, MoE every 4th (layers 3, 7, 11), pp = 2 with 6 layers per stage: the first stage
  // holds 1 MoE layer (3), the last 2 (7, 11).
  sim::MegatronRun r = midRun();
  r.layers = 12, r.moeEvery = 4, r.experts = 8;
  ASSERT_EQ(sim::moeLayersOnRank(r, 0), 1);
  ASSERT_EQ(sim::moeLayersOnRank(r, 1), 2);
  r.mix.dense = {2, 2, 1};
  r.mix.moe = {0, 0, 1};
  ASSERT_TRUE(sim::checkRecomputeMix(r).isOk()) << sim::checkRecomputeMix(r).message();
  sim::RecomputeMix first = sim::mixOnRank(r, 0), last = sim::mixOnRank(r, 1);
  EXPECT_EQ(first.dense, (std::array<int64_t, 3>{2, 2, 1}));
  EXPECT_EQ(first.moe, (std::array<int64_t, 3>{0, 0, 1}));
  // The second MoE layer takes the next most recomputed position left: the dense full one.
  EXPECT_EQ(last.moe, (std::array<int64_t, 3>{0, 0, 2}));
  EXPECT_EQ(last.dense, (std::array<int64_t, 3>{2, 2, 0}));
  // Bad mixes: wrong layer count, wrong MoE count, negative.
  sim::MegatronRun bad = r;
  bad.mix.dense = {2, 2, 2};
  EXPECT_NE(sim::checkRecomputeMix(bad).message().find("places 7 layers, a stage has 6"), std::string::npos);
  bad.mix.dense = {2, 2, 0};
  bad.mix.moe = {0, 0, 2};
  EXPECT_NE(sim::checkRecomputeMix(bad).message().find("MoE layers"), std::string::npos);
  bad.mix.dense = {3, 2, 1};
  bad.mix.moe = {-1, 0, 1};
  EXPECT_FALSE(sim::checkRecomputeMix(bad).isOk());
  EXPECT_FALSE(sim::predictMegatron(bad, cluster("1x8:a100-80g")).isOk());
}

// Under a memory limit the planner's mix is the fastest of all mixes of its plan that fit, each
// priced directly by the step model (every (none, selective, full) count of the stage's layers).
TEST(RecomputeMix, PlannerMixIsTheFastestThatFitsByBruteForce) {
  TransformerShape m{"mid", 16, 4096, 32, 2048, 51200};
  cost::ClusterSpec c = cluster("1x8:a100-80g");
  PlannerOptions o;
  o.globalBatch = 64;
  o.allowPipeline = false;
  o.allowZero1 = false;
  o.allowSequenceParallel = false;
  auto loose = planTransformer(m, c, o);
  ASSERT_TRUE(loose.isOk()) << loose.status().message();
  int mixes = 0;
  for (double f : {0.8, 0.7, 0.6, 0.5}) {
    o.memoryLimit = loose->best.prediction.peakMemoryBytes * f;
    auto tight = planTransformer(m, c, o);
    ASSERT_TRUE(tight.isOk()) << tight.status().message();
    const Plan& b = tight->best;
    EXPECT_LE(b.prediction.peakMemoryBytes, o.memoryLimit * (1 + 1e-9));
    std::printf("limit %.1f GB: %s, %.3f s, %.1f GB (%lld recompute programs, %.1f ms)\n", o.memoryLimit / 1e9,
                b.describe().c_str(), b.prediction.stepSeconds, b.prediction.peakMemoryBytes / 1e9,
                static_cast<long long>(tight->recomputePrograms), tight->recomputeSeconds * 1e3);
    if (b.mix.empty()) continue;
    int items = 0;
    for (int64_t n : b.mix.dense) items += n > 0;
    mixes += items >= 2;
    // Brute force over every mix of this plan's 16 layers (its ends on the same item).
    double bestStep = INFINITY;
    sim::StageCache cache;
    for (int64_t n0 = 0; n0 <= 16; ++n0)
      for (int64_t n1 = 0; n0 + n1 <= 16; ++n1) {
        sim::MegatronRun r = runOf(m, b, c.numDevices(), o);
        r.mix.dense = {n0, n1, 16 - n0 - n1};
        auto p = sim::predictMegatron(r, c, &cache);
        ASSERT_TRUE(p.isOk()) << p.status().message();
        if (p->peakMemoryBytes <= o.memoryLimit) bestStep = std::min(bestStep, p->stepSeconds);
      }
    EXPECT_NEAR(b.prediction.stepSeconds, bestStep, 1e-9 * bestStep) << f;
    // The exact fallback finds the same plan time as CBC.
    PlannerOptions e = o;
    e.recomputeSolver = RecomputeSolver::Exact;
    auto exact = planTransformer(m, c, e);
    ASSERT_TRUE(exact.isOk()) << exact.status().message();
    EXPECT_NEAR(exact->best.prediction.stepSeconds, b.prediction.stepSeconds, 1e-9 * bestStep) << f;
  }
  EXPECT_GE(mixes, 1) << "no limit chose a mix of two or more items";
}

}  // namespace
}  // namespace tessera::partition::planner
