// The Megatron per-rank program (the stand-in for the partitioner's output): its collectives and
// FLOPs against Megatron's formulas, repeated-block speed, and the SC'21 Table 1 comparison.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "frontend/Zoo.h"
#include "partition/sim/MegatronEstimate.h"
#include "partition/sim/MegatronProgram.h"
#include "partition/sim/Simulator.h"

namespace tessera::partition::sim {
namespace {

int countOps(const ir::Function& f, ir::OpKind k) {
  int n = 0;
  for (const auto& op : f.ops()) n += op->kind() == k;
  return n;
}

cost::ClusterSpec cluster(const char* s) {
  auto c = cost::parseClusterShorthand(s);
  EXPECT_TRUE(c.isOk()) << c.status().message();
  return *c;
}

TEST(MegatronProgram, TwoAllReducesPerPassPerLayer) {
  MegatronStageConfig c;
  c.layers = 3;
  c.hidden = 256;
  c.heads = 8;
  c.seq = 64;
  c.tp = 4;
  auto p = buildMegatronStage(c);
  ASSERT_TRUE(p.isOk()) << p.status().message();
  // forward 2 + recompute 2 + backward 2 per layer.
  EXPECT_EQ(countOps(*p->function, ir::OpKind::AllReduce), 6 * 3);
  c.recompute = Recompute::None;
  auto q = buildMegatronStage(c);
  ASSERT_TRUE(q.isOk());
  EXPECT_EQ(countOps(*q->function, ir::OpKind::AllReduce), 4 * 3);
  EXPECT_TRUE(q->recomputeOps.empty());
  // 12 h^2 / t weights + 4 h of LayerNorm per layer.
  EXPECT_DOUBLE_EQ(p->parametersPerRank, 3 * (12.0 * 256 * 256 / 4 + 4 * 256));
}

TEST(MegatronProgram, FlopsMatchMegatronsCount) {
  MegatronStageConfig c;
  c.layers = 2;
  c.hidden = 1024;
  c.heads = 16;
  c.seq = 512;
  c.microBatch = 2;
  c.tp = 2;
  auto p = buildMegatronStage(c);
  ASSERT_TRUE(p.isOk()) << p.status().message();
  SimOptions o;
  o.recomputeOps = p->recomputeOps;
  auto r = simulate(*p->function, p->module->meshes[0], cluster("1x2:a100-80g"), o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const double b = 2, s = 512, h = 1024, t = 2;
  // Forward GEMMs per layer (Narayanan et al.): 24 b s h^2 + 4 b s^2 h, split over t ranks;
  // backward twice that. Elementwise work adds well under 2%.
  const double fwd = (24 * b * s * h * h + 4 * b * s * s * h) / t;
  EXPECT_NEAR(r->modelFlops / (2 * 3 * fwd), 1.0, 0.02);
  EXPECT_NEAR(r->hardwareFlops / (2 * 4 * fwd), 1.0, 0.02);
  EXPECT_GT(r->recomputeSeconds, 0.0);
  EXPECT_NEAR(r->stepSeconds, r->computeSeconds + r->exposedCommSeconds, 1e-9);
  EXPECT_EQ(r->comm.at("tp").count, 12);
}

TEST(MegatronProgram, MainGradientAccumulationAddsAnFp32PassPerWeight) {
  MegatronStageConfig c;
  c.hidden = 256;
  c.heads = 8;
  c.seq = 64;
  c.tp = 2;
  auto plain = buildMegatronStage(c);
  c.accumulateMainGrads = true;
  auto acc = buildMegatronStage(c);
  ASSERT_TRUE(plain.isOk() && acc.isOk());
  // 10 parameter tensors per layer, each gains an fp32 main-gradient input.
  EXPECT_EQ(acc->function->numArguments(), plain->function->numArguments() + 10);
  EXPECT_EQ(countOps(*acc->function, ir::OpKind::Cast), countOps(*plain->function, ir::OpKind::Cast) + 10);
}

TEST(MegatronProgram, BadSizesAreErrors) {
  MegatronStageConfig c;
  c.hidden = 1000;
  c.heads = 16;
  EXPECT_FALSE(buildMegatronStage(c).isOk());
  c.hidden = 1024;
  c.tp = 3;
  auto r = buildMegatronStage(c);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("not divisible by tp 3"), std::string::npos);
}

// A 1T-parameter model's 128 layers as one per-rank program (tp = 8): building and simulating
// it must take seconds, not minutes (printed, not asserted: timings are noisy here).
TEST(MegatronProgram, OneTrillionParameterProgramBuildsAndSimulates) {
  auto t0 = std::chrono::steady_clock::now();
  MegatronStageConfig c;
  c.layers = 128;
  c.hidden = 25600;
  c.heads = 160;
  c.tp = 8;
  c.embedding = c.head = true;
  auto p = buildMegatronStage(c);
  ASSERT_TRUE(p.isOk()) << p.status().message();
  auto t1 = std::chrono::steady_clock::now();
  SimOptions o;
  o.recomputeOps = p->recomputeOps;
  auto r = simulate(*p->function, p->module->meshes[0], cluster("1x8:a100-80g"), o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  auto t2 = std::chrono::steady_clock::now();
  std::printf("1T per-rank program: %d ops, build %.3f s, simulate %.3f s; step %.2f s, MFU %.2f, "
              "peak memory %.1f GB\n",
              r->numOps, std::chrono::duration<double>(t1 - t0).count(),
              std::chrono::duration<double>(t2 - t1).count(), r->stepSeconds, r->mfu,
              r->memory.peakBytes / 1e9);
  // The parameters alone (1T / 8 in 16 bits) are resident.
  EXPECT_GT(r->memory.atPeak.parameters, 2 * 1e12 / 8 * 0.95);
  EXPECT_GT(r->mfu, 0.2);
  EXPECT_LT(r->mfu, 0.9);
}

// The zoo's graph-only megatron-1t (global forward graph, f32) through the simulator.
TEST(MegatronProgram, ZooOneTrillionForwardGraphSimulates) {
  auto t0 = std::chrono::steady_clock::now();
  auto m = frontend::buildZooModel("megatron-1t", {});
  ASSERT_TRUE(m.isOk()) << m.status().message();
  auto t1 = std::chrono::steady_clock::now();
  ir::Function* f = (*m)->findFunction("main");
  ASSERT_NE(f, nullptr);
  SimOptions o;
  o.symbols = {{"B", 1}, {"S", 2048}};
  ir::Mesh one = ir::Mesh::make("m", {{"dp", 1}});
  auto r = simulate(*f, one, cluster("1x1:h200"), o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  auto t2 = std::chrono::steady_clock::now();
  std::printf("zoo megatron-1t forward: %d ops, build %.3f s, simulate %.3f s, step %.1f s\n",
              r->numOps, std::chrono::duration<double>(t1 - t0).count(),
              std::chrono::duration<double>(t2 - t1).count(), r->stepSeconds);
  // Forward model FLOPs ~ 2 * params * tokens (+ attention): 2 * ~1e12 * 2048 at least.
  EXPECT_GT(r->modelFlops, 2 * 0.95e12 * 2048);
}

// SC'21 Table 1 with Megatron's own plans on A100-80GB nodes of 8. Prints every row's error.
TEST(MegatronTable1, PredictionsPerRow) {
  double sumAbs = 0, worst = 0;
  std::printf("%-6s %6s %5s %4s %4s %6s | %9s %9s %7s | %8s %8s %8s %8s\n", "model", "gpus", "batch",
              "tp", "pp", "m", "published", "predicted", "error", "step s", "bubble", "dp+emb", "sim s");
  for (const MegatronRun& run : sc21Table1()) {
    auto c = cost::parseClusterShorthand(std::to_string(run.gpus / 8) + "x8:a100-80g");
    ASSERT_TRUE(c.isOk());
    auto p = predictMegatron(run, *c);
    ASSERT_TRUE(p.isOk()) << p.status().message();
    double err = (p->tflopsPerGpu - run.publishedTflops) / run.publishedTflops;
    sumAbs += std::fabs(err);
    worst = std::max(worst, std::fabs(err));
    std::printf("%-6s %6lld %5lld %4lld %4lld %6lld | %9.0f %9.1f %+6.1f%% | %8.2f %8.2f %8.3f %8.3f\n",
                run.name.c_str(), static_cast<long long>(run.gpus), static_cast<long long>(run.globalBatch),
                static_cast<long long>(run.tp), static_cast<long long>(run.pp),
                static_cast<long long>(p->microbatches), run.publishedTflops, p->tflopsPerGpu, 100 * err,
                p->stepSeconds, p->bubbleSeconds, p->dataParallelSeconds, p->simulateSeconds);
    EXPECT_LT(p->tflopsPerGpu, 312);
    // Issue 7's tolerance: every row within 10%, mean absolute error at most 5%. The model's
    // constants come from their sources (docs/planner.md); one, the GPUs' achievable fraction of
    // HBM bandwidth, is fitted once on this table — no row has a factor of its own.
    EXPECT_LT(std::fabs(err), 0.10) << run.name;
  }
  std::printf("mean |error| %.1f%%, worst %.1f%%\n", 100 * sumAbs / 10, 100 * worst);
  EXPECT_LE(sumAbs / 10, 0.05);
}

// Korthikanti et al. 2022 Table 5: iteration time with full recomputation and with sequence
// parallelism + selective recomputation, same tolerances.
TEST(KorthikantiTable5, IterationTimesWithinTolerance) {
  for (bool spSel : {false, true}) {
    double sumAbs = 0;
    auto rows = korthikantiTable5(spSel);
    for (const MegatronRun& run : rows) {
      auto c = cost::parseClusterShorthand(std::to_string(run.gpus / 8) + "x8:a100-80g");
      ASSERT_TRUE(c.isOk());
      auto p = predictMegatron(run, *c);
      ASSERT_TRUE(p.isOk()) << p.status().message();
      double err = (p->stepSeconds - run.publishedSeconds) / run.publishedSeconds;
      sumAbs += std::fabs(err);
      std::printf("%-5s %-15s published %6.2f s predicted %6.2f s %+5.1f%%\n", run.name.c_str(),
                  spSel ? "SP+selective" : "full recompute", run.publishedSeconds, p->stepSeconds, 100 * err);
      EXPECT_LT(std::fabs(err), 0.10) << run.name << (spSel ? " SP+selective" : " full");
    }
    EXPECT_LE(sumAbs / static_cast<double>(rows.size()), 0.05) << (spSel ? "SP+selective" : "full");
  }
}

// What a layer stores for its backward, counted from the layer program, against Korthikanti et
// al.'s Table 2 (16-bit, per layer and micro-batch): s b h (34 + 5 a s / h) without parallelism,
// s b h (10 + 24/t + 5 a s/(h t)) with tensor parallelism, s b h (34/t + 5 a s/(h t)) with SP; the
// attention term goes with selective recompute; full recompute keeps the input, 2 s b h (/t).
TEST(MegatronProgram, StoredActivationsMatchKorthikantiTable2) {
  auto c = cost::parseClusterShorthand("1x8:a100-80g");
  ASSERT_TRUE(c.isOk());
  const double s = 256, b = 2, h = 512, a = 8;
  auto stored = [&](int64_t t, bool sp, Recompute rc) {
    MegatronStageConfig cfg;
    cfg.hidden = 512, cfg.heads = 8, cfg.seq = 256, cfg.microBatch = 2, cfg.tp = t, cfg.vocab = 1024;
    cfg.sequenceParallel = sp;
    cfg.recompute = rc;
    StageCache cache;
    auto r = cache.get(cfg, *c);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    return r.isOk() ? r->storedBytes : -1.0;
  };
  const double sbh = s * b * h, att = 5 * a * s / h;
  EXPECT_DOUBLE_EQ(stored(1, false, Recompute::None), sbh * (34 + att));
  EXPECT_DOUBLE_EQ(stored(4, false, Recompute::None), sbh * (10 + 24.0 / 4 + att / 4));
  EXPECT_DOUBLE_EQ(stored(4, true, Recompute::None), sbh * (34.0 / 4 + att / 4));
  EXPECT_DOUBLE_EQ(stored(4, true, Recompute::Selective), sbh * 34.0 / 4);
  EXPECT_DOUBLE_EQ(stored(4, false, Recompute::Full), 2 * sbh);
  EXPECT_DOUBLE_EQ(stored(4, true, Recompute::Full), 2 * sbh / 4);
}

TEST(MegatronProgram, SequenceParallelSwapsAllReducesForGatherAndScatter) {
  MegatronStageConfig c;
  c.layers = 2;
  c.hidden = 256;
  c.heads = 8;
  c.seq = 64;
  c.tp = 4;
  c.recompute = Recompute::Selective;
  c.sequenceParallel = true;
  auto p = buildMegatronStage(c);
  ASSERT_TRUE(p.isOk()) << p.status().message();
  // Per layer: forward 2 gathers + 2 scatters; backward 2 gathers + 2 scatters + 2 re-gathers.
  EXPECT_EQ(countOps(*p->function, ir::OpKind::AllReduce), 0);
  EXPECT_EQ(countOps(*p->function, ir::OpKind::AllGather), 2 * 6);
  EXPECT_EQ(countOps(*p->function, ir::OpKind::ReduceScatter), 2 * 4);
  EXPECT_EQ(p->asyncOps.size(), 2u * 2);
  // Selective recompute re-runs the attention core only: 1 GEMM (q k^T) per layer.
  int gemms = 0;
  for (const ir::Op* op : p->recomputeOps) gemms += op->kind() == ir::OpKind::Dot;
  EXPECT_EQ(gemms, 2);
}

TEST(MegatronTable1, BadPlansAreErrors) {
  auto c = cost::parseClusterShorthand("4x8:a100-80g");
  ASSERT_TRUE(c.isOk());
  MegatronRun r = sc21Table1()[0];
  r.globalBatch = 500;  // not divisible by 32 * 16
  EXPECT_FALSE(predictMegatron(r, *c).isOk());
  r = sc21Table1()[1];  // 64 GPUs on a 32-GPU cluster
  auto e = predictMegatron(r, *c);
  ASSERT_FALSE(e.isOk());
  EXPECT_NE(e.status().message().find("the cluster has 32"), std::string::npos);
}

}  // namespace
}  // namespace tessera::partition::sim
