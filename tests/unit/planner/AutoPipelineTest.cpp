// `tessera plan --auto` on this machine emits pipeline plans (launcher/PlanAuto.h): a model whose
// states do not fit one device's limit under any data-parallel plan (ZeRO-1 included) but fit
// when the layers are split over two stages gets a plan with pp = 2, and the choice carries what
// the launcher needs to run it — the mesh with pp, --micro-batches M with batch % M = 0 and
// (batch / M) % dp = 0, the schedule (virtual stages only when interleaved) and the remat
// choice. tests/mpi/launcher's AutoPlanTest runs printed plans; this file checks the choice.
#include <gtest/gtest.h>

#include <cstdio>

#include "launcher/Commands.h"
#include "launcher/PlanAuto.h"
#include "partition/planner/Planner.h"

namespace tessera::launcher {
namespace {

namespace planner = partition::planner;
namespace sim = partition::sim;

// gpt with one head (tp cannot split it), 8 layers of h = 256, a tiny vocabulary: the layers'
// states dominate. fp32 on CPUs: 4 (weights) + 4 (gradients) + 8 (Adam) bytes per parameter;
// dp = 2 with ZeRO-1 keeps 12 of them per parameter on every device, pp = 2 half the layers at 16.
planner::TransformerShape shape() { return {"gpt", 8, 256, 1, 16, 256}; }

PlanAutoOptions options(const std::string& limit) {
  PlanAutoOptions o;
  o.model = "gpt";
  o.modelOptions = {{"layers", "8"}, {"hidden", "256"}, {"heads", "1"}, {"seq", "16"}, {"vocab", "256"}};
  o.ranks = 2;
  o.globalBatch = 8;
  o.memoryLimit = limit;
  o.program = "tessera";
  o.runnersUp = 2;
  return o;
}

TEST(AutoPipeline, MemoryLimitedCpuPlanIsAPipelineTheLauncherRuns) {
  auto c = partition::cost::parseClusterShorthand("1x2:cpu");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  planner::PlannerOptions po;
  po.globalBatch = 8;
  po.dtype = ir::DType::F32;
  // The least memory of a data-parallel plan (dp = 2, ZeRO-1, one micro-batch of 4) and of a
  // pipeline (pp = 2, full recomputation, 8 micro-batches of 1).
  planner::Plan dp;
  dp.dp = 2, dp.microBatch = 4, dp.zero = 1, dp.recompute = sim::Recompute::None;
  auto memDp = sim::predictMegatron(planner::runOf(shape(), dp, 2, po), *c);
  ASSERT_TRUE(memDp.isOk()) << memDp.status().message();
  planner::Plan pp;
  pp.pp = 2, pp.microBatch = 1, pp.microbatches = 8, pp.recompute = sim::Recompute::Full;
  auto memPp = sim::predictMegatron(planner::runOf(shape(), pp, 2, po), *c);
  ASSERT_TRUE(memPp.isOk()) << memPp.status().message();
  // The premise: per parameter 16 / 2 = 8 bytes (pp) against 12 (dp ZeRO-1) for the layers.
  ASSERT_LT(memPp->peakMemoryBytes, memDp->peakMemoryBytes);
  const double limit = (memPp->peakMemoryBytes + memDp->peakMemoryBytes) / 2;

  PlanAutoChoice choice;
  ASSERT_EQ(runPlanAuto(options(std::to_string(static_cast<int64_t>(limit))), &choice), kExitOk);
  EXPECT_TRUE(choice.launchable);
  EXPECT_EQ(choice.mesh, "pp=2");
  EXPECT_TRUE(choice.parallel.empty());
  EXPECT_EQ(choice.globalBatch, 8);
  ASSERT_GT(choice.microBatches, 0);
  EXPECT_EQ(choice.globalBatch % choice.microBatches, 0);  // dp = 1 divides every micro-batch
  EXPECT_TRUE(choice.schedule == "1f1b" || choice.schedule == "interleaved") << choice.schedule;
  if (choice.schedule == "interleaved") {
    EXPECT_GT(choice.virtualStages, 1);
    EXPECT_EQ(choice.microBatches % 2, 0);  // M % pp = 0
    EXPECT_EQ(4 % choice.virtualStages, 0);  // v divides the layers per stage
  } else {
    EXPECT_EQ(choice.virtualStages, 0);
  }
  EXPECT_TRUE(choice.remat == "none" || choice.remat == "selective" || choice.remat == "full") << choice.remat;

  // Without the limit the plan is whatever is fastest, and a limit below the pipeline's minimum
  // is an error (exit code of an IR error: no plan).
  PlanAutoChoice loose;
  ASSERT_EQ(runPlanAuto(options(""), &loose), kExitOk);
  EXPECT_TRUE(loose.launchable);
  EXPECT_EQ(runPlanAuto(options(std::to_string(static_cast<int64_t>(memPp->peakMemoryBytes / 4))), nullptr),
            kExitIrError);
}

// With dp and pp together (4 ranks: pp = 2 x dp = 2) every micro-batch splits over dp.
TEST(AutoPipeline, MicroBatchesDivideOverDataParallelRanks) {
  PlanAutoOptions o = options("");
  o.ranks = 4;
  o.globalBatch = 12;
  o.runnersUp = 0;
  auto c = partition::cost::parseClusterShorthand("1x4:cpu");
  ASSERT_TRUE(c.isOk());
  planner::PlannerOptions po;
  po.globalBatch = 12;
  po.dtype = ir::DType::F32;
  // Force a pipeline with dp: the limit between pp = 2 x dp = 2 (ZeRO-1, full recompute, 6
  // micro-batches of 1 per dp rank) and the best plan without a pipeline at pp = 1 (dp = 4 ZeRO-1).
  planner::Plan both;
  both.pp = 2, both.dp = 2, both.zero = 1, both.microBatch = 1, both.microbatches = 6;
  auto memBoth = sim::predictMegatron(planner::runOf(shape(), both, 4, po), *c);
  ASSERT_TRUE(memBoth.isOk()) << memBoth.status().message();
  planner::Plan dp4;
  dp4.dp = 4, dp4.zero = 1, dp4.microBatch = 3, dp4.recompute = sim::Recompute::None;
  auto memDp4 = sim::predictMegatron(planner::runOf(shape(), dp4, 4, po), *c);
  ASSERT_TRUE(memDp4.isOk());
  ASSERT_LT(memBoth->peakMemoryBytes, memDp4->peakMemoryBytes);  // the premise
  o.memoryLimit = std::to_string(static_cast<int64_t>((memBoth->peakMemoryBytes + memDp4->peakMemoryBytes) / 2));
  PlanAutoChoice choice;
  ASSERT_EQ(runPlanAuto(o, &choice), kExitOk);
  ASSERT_GT(choice.microBatches, 0) << choice.mesh;
  EXPECT_EQ(choice.mesh.rfind("pp=", 0), 0u) << choice.mesh;
  int64_t dpSize = 1;
  if (auto at = choice.mesh.find("dp="); at != std::string::npos) dpSize = std::stoll(choice.mesh.substr(at + 3));
  EXPECT_EQ(choice.globalBatch % choice.microBatches, 0);
  EXPECT_EQ((choice.globalBatch / choice.microBatches) % dpSize, 0) << choice.mesh;
}

}  // namespace
}  // namespace tessera::launcher
