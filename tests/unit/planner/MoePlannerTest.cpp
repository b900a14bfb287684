// Expert parallelism in the planner's step model (partition/sim/MegatronEstimate.h, the MoE layer
// of MegatronProgram.h) and search (Planner.h): the MoE layer's parameters and slot rows, its
// dispatch/combine all_to_all time against the ring formula inside and across nodes, states per
// device with ep, the MoE layer count and model FLOPs, a small MoE whose experts fit only with
// ep, and a GPT-3-MoE-like model planned on a GPU cluster. Expectations are computed by hand from
// the formulas in the comments, with the cluster's link parameters as the only inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "partition/planner/Planner.h"
#include "tests/unit/planner/TestCluster.h"
#include "partition/sim/MegatronProgram.h"
#include "partition/sim/Simulator.h"

namespace tessera::partition::planner {
namespace {

sim::MegatronStageConfig moeStage(int64_t ep) {
  sim::MegatronStageConfig c;
  c.hidden = 256;
  c.heads = 4;
  c.seq = 512;
  c.microBatch = 1;
  c.vocab = 1024;
  c.ffn = 1024;
  c.experts = 8;
  c.topK = 2;
  c.capacityFactor = 1.0;
  c.ep = ep;
  c.recompute = sim::Recompute::None;
  c.dropout = false;
  return c;
}

// One MoE layer at ep = 4: slots S = T k cf = 512 * 2 * 1 = 1024 (a multiple of lcm(ep, E/ep) =
// 4); local experts 2, each [h, f] + [f, h]; dense weights 4h^2, LayerNorms 4h, router h E.
TEST(MoePlanner, LayerParametersAndSlotRows) {
  sim::MegatronStageConfig c = moeStage(4);
  EXPECT_EQ(sim::moeSlotRows(c), 1024);
  auto prog = sim::buildMegatronStage(c);
  ASSERT_TRUE(prog.isOk()) << prog.status().message();
  const double h = 256, f = 1024;
  EXPECT_DOUBLE_EQ(prog->expertParametersPerRank, 2 * 2 * h * f);
  EXPECT_DOUBLE_EQ(prog->parametersPerRank, 4 * h * h + 4 * h + h * 8 + 2 * 2 * h * f);
  // Padding: T k cf = 512 * 1 * 1.25 = 640 slots at ep = 4, E/ep = 2 -> a multiple of 4: 640;
  // at capacity 1.3: 665.6 -> 666 -> 668.
  c.topK = 1;
  c.capacityFactor = 1.25;
  EXPECT_EQ(sim::moeSlotRows(c), 640);
  c.capacityFactor = 1.3;
  EXPECT_EQ(sim::moeSlotRows(c), 668);
  // Experts that ep does not divide, ep without experts: errors.
  c.ep = 3;
  EXPECT_FALSE(sim::buildMegatronStage(c).isOk());
  c.experts = 0;
  c.ep = 2;
  EXPECT_FALSE(sim::buildMegatronStage(c).isOk());
}

// The layer's communication at tp = 1 is its four all_to_all's (dispatch and combine, forward and
// backward), each (n-1) latencies + (n-1)/n * S h * 2 bytes over the slowest link of the ep group:
// ep = 4 on 2 nodes of 4 stays on NVLink, ep = 8 crosses to InfiniBand.
TEST(MoePlanner, AllToAllTimeInsideAndAcrossNodes) {
  const cost::ClusterSpec c = cluster("2x4:a100-80g");
  ASSERT_GE(c.levels.size(), 2u);
  for (int64_t ep : {4, 8}) {
    sim::MegatronStageConfig s = moeStage(ep);
    auto prog = sim::buildMegatronStage(s);
    ASSERT_TRUE(prog.isOk()) << prog.status().message();
    auto r = sim::simulate(*prog->function, prog->module->meshes[0], c, {});
    ASSERT_TRUE(r.isOk()) << r.status().message();
    const cost::NetworkLevel& link = c.levels[ep == 4 ? 0 : 1];
    const double bytes = 1024.0 * 256 * 2, n = static_cast<double>(ep);
    const double one = (n - 1) * link.latency + (n - 1) / n * bytes / link.effectiveBandwidth(bytes);
    EXPECT_NEAR(r->exposedCommSeconds, 4 * one, 1e-9 + 1e-6 * 4 * one) << "ep " << ep;
  }
}

TEST(MoePlanner, MoeLayerCountAndModelFlops) {
  // Layers k-1, 2k-1, ...: of 0..11 with k = 2 -> 1,3,5,7,9,11; of 4..7 -> 5,7; k = 3 of 0..5 -> 2,5.
  EXPECT_EQ(sim::moeLayersIn(0, 12, 2), 6);
  EXPECT_EQ(sim::moeLayersIn(4, 4, 2), 2);
  EXPECT_EQ(sim::moeLayersIn(0, 6, 3), 2);
  EXPECT_EQ(sim::moeLayersIn(1, 1, 3), 0);
  EXPECT_EQ(sim::moeLayersIn(0, 4, 0), 0);
  // Top-2 over 6 MoE layers of 12 adds 3 * 4 B s h f (k - 1) per MoE layer (4 with recompute).
  sim::MegatronRun run;
  run.layers = 12, run.hidden = 1024, run.heads = 16, run.seq = 1024, run.vocab = 32768;
  run.globalBatch = 8;
  sim::MegatronRun moe = run;
  moe.moeEvery = 2, moe.experts = 8, moe.topK = 2;
  const double extra = 6.0 * 4 * 8 * 1024 * 1024 * 4096;
  EXPECT_NEAR(sim::megatronFlops(moe, false) - sim::megatronFlops(run, false), 3 * extra, 1e-9 * 3 * extra);
  EXPECT_NEAR(sim::megatronFlops(moe, true) - sim::megatronFlops(run, true), 4 * extra, 1e-9 * 4 * extra);
}

// A small MoE whose experts fit only with ep: 8 A100s, no tp / pp / ZeRO allowed, every layer
// MoE with 64 experts of f = 4h. Per device (bf16 weights, fp32 main gradients, 12 bytes of Adam
// state: 18 bytes per parameter): dense V h + 2h + L (4h^2 + 4h + h E) (no biases in the
// program), experts L (64/ep) 2 h f. With a 12 GB limit ep = 1 and 2 do not fit (their experts'
// states alone are 38.7 and 19.3 GB) and the planner must take ep >= 4.
TEST(MoePlanner, ExpertsFitOnlyWithExpertParallelism) {
  TransformerShape m{"moe-small", 4, 1024, 16, 1024, 32768};
  m.moeEvery = 1, m.experts = 64, m.topK = 1, m.capacityFactor = 1.25;
  const double h = 1024, f = 4096, V = 32768, L = 4, E = 64;
  const double dense = V * h + 2 * h + L * (4 * h * h + 4 * h + h * E);
  auto expertsPerDevice = [&](double ep) { return L * (E / ep) * 2 * h * f; };
  // Experts' states: ep = 1: 18 * 2.15e9 = 38.7 GB; ep = 2: 19.3 GB; ep = 4: 9.66 GB; ep = 8: 4.8 GB.
  PlannerOptions o;
  o.globalBatch = 8;
  o.maxTp = 1;
  o.allowPipeline = false;
  o.allowZero1 = false;
  o.memoryLimit = 12e9;
  const cost::ClusterSpec c = cluster("1x8:a100-80g");
  auto r = planTransformer(m, c, o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const Plan& p = r->best;
  EXPECT_EQ(p.dp, 8);
  EXPECT_GE(p.ep, 4) << p.describe();
  EXPECT_NE(p.describe().find(" ep=" + std::to_string(p.ep)), std::string::npos) << p.describe();
  EXPECT_NEAR(p.prediction.stateBytes, 18 * (dense + expertsPerDevice(static_cast<double>(p.ep))),
              1e-9 * p.prediction.stateBytes);
  EXPECT_LE(p.prediction.peakMemoryBytes, o.memoryLimit);
  for (const Plan& q : r->runnersUp) EXPECT_GE(q.ep, 4) << q.describe();
  // Without ep > 2 nothing fits, and the error says so.
  o.maxEp = 2;
  auto none = planTransformer(m, c, o);
  ASSERT_FALSE(none.isOk());
  EXPECT_NE(none.status().message().find("no plan fits"), std::string::npos) << none.status().message();
  // The flags: ep = dp is `expert-parallel=dp` on the dp axis.
  Plan q;
  q.dp = 4, q.ep = 4;
  EXPECT_EQ(q.meshFlag(), "dp=4");
  EXPECT_EQ(q.parallelFlag(), "dp,expert-parallel=dp");
  EXPECT_TRUE(q.expertsLaunchable());
  q.ep = 2;
  EXPECT_EQ(q.parallelFlag(), "dp");
  EXPECT_FALSE(q.expertsLaunchable());
}

// Expert states by ZeRO-1 split over the dp/ep ranks holding the same experts, the dense ones
// over all d: 2 (16-bit weights) + 4 (fp32 main gradients) + 12 / d, resp. 12 / (d/ep), bytes.
TEST(MoePlanner, ZeroOneSplitsExpertStatesOverTheirReplicas) {
  sim::MegatronRun run;
  run.name = "moe";
  run.layers = 2, run.hidden = 512, run.heads = 8, run.seq = 256, run.vocab = 4096;
  run.gpus = 8, run.globalBatch = 8, run.microBatch = 1, run.localDdp = true;
  run.recompute = sim::Recompute::None;
  run.moeEvery = 1, run.experts = 8, run.topK = 1, run.ep = 2, run.zero = 1;
  const cost::ClusterSpec c = cluster("1x8:a100-80g");
  auto p = sim::predictMegatron(run, c);
  ASSERT_TRUE(p.isOk()) << p.status().message();
  const double h = 512, f = 2048, V = 4096, L = 2, E = 8, d = 8, ep = 2;
  const double dense = V * h + 2 * h + L * (4 * h * h + 4 * h + h * E);
  const double experts = L * (E / ep) * 2 * h * f;
  EXPECT_NEAR(p->stateBytes, dense * (6 + 12 / d) + experts * (6 + 12 / (d / ep)), 1e-9 * p->stateBytes);
  // ep must divide dp and the experts.
  run.ep = 3;
  EXPECT_FALSE(sim::predictMegatron(run, c).isOk());
}

// A GPT-3-MoE-like model (GPT-3 1.3B's shape, every other MLP 64 experts, top-1, capacity 1.25:
// ~26B expert parameters) on 8 nodes of 8 A100-80GB: a plan that fits, with ep, printed with its
// runners-up; the search takes seconds.
TEST(MoePlanner, Gpt3MoeOnAGpuCluster) {
  TransformerShape m{"gpt3-1.3b-moe64", 24, 2048, 16, 2048, 51200};
  m.moeEvery = 2, m.experts = 64, m.topK = 1, m.capacityFactor = 1.25;
  PlannerOptions o;
  o.globalBatch = 512;
  auto r = planTransformer(m, cluster("8x8:a100-80g"), o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_GT(r->best.ep, 1) << r->best.describe();
  EXPECT_LE(r->best.prediction.peakMemoryBytes, 80e9);
  EXPECT_FALSE(r->runnersUp.empty());
  std::printf("best   %s: %.3f s, %.1f GB\n", r->best.describe().c_str(), r->best.prediction.stepSeconds,
              r->best.prediction.peakMemoryBytes / 1e9);
  for (const Plan& q : r->runnersUp)
    std::printf("       %s: %.3f s, %.1f GB\n", q.describe().c_str(), q.prediction.stepSeconds,
                q.prediction.peakMemoryBytes / 1e9);
  std::printf("%lld plans priced, %zu blocks simulated, %.2f s (%lld recompute programs, %.2f s)\n",
              static_cast<long long>(r->candidates), r->blocksSimulated, r->searchSeconds,
              static_cast<long long>(r->recomputePrograms), r->recomputeSeconds);
}

}  // namespace
}  // namespace tessera::partition::planner
