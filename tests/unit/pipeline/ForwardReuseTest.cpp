// A pipeline step computes each forward once (RankPrograms.h reuseForward), remat on a pipeline
// rank recomputes (PipelineRemat.h), and the per-rank planned memory (StageMemory.h) shows the
// schedules' activation profiles.
//
// Counting: the tiny GPT's forward has 6 contractions per layer (matmuls of qkv, attention
// projection, fc and mlp projection; the q·kᵀ and probs·v dots) and one for the tied head; each
// contraction's backward is two (one per operand: every operand needs a gradient). So a stage of
// L layers costs 6L (+1 on the last) forward and twice that backward per micro-batch: a rank
// program that reuses its forward has 3x the forward count, one that recomputes it 4x.
#include <gtest/gtest.h>

#include <cstring>

#include "partition/pipeline/PipelineStep.h"
#include "partition/pipeline/ProgramRunner.h"
#include "partition/pipeline/StageMemory.h"
#include "tests/unit/pipeline/PipelineTestUtil.h"

namespace tessera::partition::pipeline {
namespace {

using namespace pipeline_test;
using ir::Tensor;

constexpr int64_t kBatch = 8;

passes::TrainStepOptions sgd() {
  passes::TrainStepOptions o;
  o.optimizer.kind = passes::OptimizerKind::Sgd;
  o.optimizer.lr = 0.1;
  o.optimizer.momentum = 0.9;
  return o;
}

StatusOr<PipelineStep> build(ScheduleKind kind, int p, int M, bool reuse,
                             passes::RematMode remat = passes::RematMode::None) {
  auto m = tinyGpt();
  PipelineStepOptions o;
  o.schedule = {kind, p, M, 1};
  o.reuseForward = reuse;
  o.remat = remat;
  return buildPipelineStep(*m, sgd(), o);
}

int contractions(const ir::Function& f) {
  int n = 0;
  for (const auto& op : f.ops()) n += op->kind() == ir::OpKind::Matmul || op->kind() == ir::OpKind::Dot;
  return n;
}

// One step of every rank's @pp_step in process; each rank's outputs.
std::vector<std::vector<Tensor>> runStep(const PipelineStep& step) {
  std::vector<const ir::Function*> fns;
  for (const PipelineRankStep& rs : step.ranks) fns.push_back(step.module->findFunction(rs.info.function));
  auto batch = tokens(kBatch, 77);
  std::vector<std::vector<Tensor>> inputs;
  for (size_t r = 0; r < step.ranks.size(); ++r) {
    auto in = rankStepInputs(step, static_cast<int>(r), batch, {});
    EXPECT_TRUE(in.isOk()) << in.status().message();
    if (!in.isOk()) return {};
    inputs.push_back(std::move(*in));
  }
  auto res = runPipelinePrograms(*step.module->findMesh("mesh"), fns, inputs);
  EXPECT_TRUE(res.isOk()) << res.status().message();
  return res.isOk() ? *res : std::vector<std::vector<Tensor>>{};
}

void expectBitwiseEqual(const std::vector<std::vector<Tensor>>& a, const std::vector<std::vector<Tensor>>& b) {
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (size_t r = 0; r < a.size(); ++r) {
    ASSERT_EQ(a[r].size(), b[r].size()) << "rank " << r;
    for (size_t k = 0; k < a[r].size(); ++k) {
      ASSERT_EQ(a[r][k].shape(), b[r][k].shape());
      EXPECT_EQ(std::memcmp(a[r][k].data().data(), b[r][k].data().data(), a[r][k].data().size() * sizeof(double)), 0)
          << "rank " << r << " output " << k;
    }
  }
}

std::vector<StageMemory> memoryOf(const PipelineStep& step, int M) {
  std::vector<StageMemory> out;
  for (const PipelineRankStep& rs : step.ranks) {
    StageMemoryInput in;
    in.function = step.module->findFunction(rs.info.function);
    in.params = rs.info.params;
    in.state = rs.info.state;
    in.activationSends = rs.activationSends;
    in.stages = rs.stages;
    auto m = planStageMemory(in, {{"B", kBatch / M}, {"S", kSeq}});
    EXPECT_TRUE(m.isOk()) << m.status().message();
    out.push_back(m.isOk() ? *m : StageMemory{});
  }
  return out;
}

int64_t activations(const StageMemory& m) {
  return m.maxByCategory[static_cast<int>(passes::MemoryCategory::Activations)];
}

TEST(ForwardReuse, RankProgramComputesEachForwardOnce) {
  const int p = 2, M = 4;
  // 4 layers over 2 stages: 2 layers each, the head on stage 1.
  const int forward[] = {6 * 2, 6 * 2 + 1};
  for (bool reuse : {true, false}) {
    SCOPED_TRACE(reuse ? "reuse" : "recompute");
    auto step = build(ScheduleKind::OneFOneB, p, M, reuse);
    ASSERT_TRUE(step.isOk()) << step.status().message();
    for (int r = 0; r < p; ++r) {
      const ir::Function* rank = step->module->findFunction(step->programs[r].function);
      const ir::Function* whole = step->module->findFunction(step->ranks[r].info.function);
      EXPECT_EQ(contractions(*rank), M * (reuse ? 3 : 4) * forward[r]) << "@rank" << r;
      // The step function adds the optimizer (no contractions) to the same schedule.
      EXPECT_EQ(contractions(*whole), contractions(*rank)) << "@pp_step" << r;
    }
  }
}

TEST(ForwardReuse, ResultsAreBitwiseTheSame) {
  for (ScheduleKind k : {ScheduleKind::OneFOneB, ScheduleKind::GPipe}) {
    SCOPED_TRACE(scheduleKindName(k));
    auto reuse = build(k, 2, 4, true), recompute = build(k, 2, 4, false);
    ASSERT_TRUE(reuse.isOk()) << reuse.status().message();
    ASSERT_TRUE(recompute.isOk()) << recompute.status().message();
    expectBitwiseEqual(runStep(*reuse), runStep(*recompute));
  }
}

// Storing activations costs memory that recomputing did not: the reused forward's activation
// peak is above the recomputing program's on every rank.
TEST(ForwardReuse, ActivationsLiveFromForwardToBackward) {
  auto reuse = build(ScheduleKind::OneFOneB, 2, 4, true), recompute = build(ScheduleKind::OneFOneB, 2, 4, false);
  ASSERT_TRUE(reuse.isOk() && recompute.isOk());
  auto a = memoryOf(*reuse, 4), b = memoryOf(*recompute, 4);
  for (int r = 0; r < 2; ++r) EXPECT_GT(activations(a[r]), activations(b[r])) << "rank " << r;
}

TEST(PipelineRemat, FullRematRecomputesLowersActivationsAndKeepsResults) {
  for (passes::RematMode mode : {passes::RematMode::Full, passes::RematMode::Selective}) {
    SCOPED_TRACE(mode == passes::RematMode::Full ? "full" : "selective");
    auto plain = build(ScheduleKind::OneFOneB, 2, 4, true);
    auto remat = build(ScheduleKind::OneFOneB, 2, 4, true, mode);
    ASSERT_TRUE(plain.isOk()) << plain.status().message();
    ASSERT_TRUE(remat.isOk()) << remat.status().message();
    auto a = memoryOf(*plain, 4), b = memoryOf(*remat, 4);
    for (int r = 0; r < 2; ++r) {
      const ir::Function* f = plain->module->findFunction(plain->ranks[r].info.function);
      const ir::Function* g = remat->module->findFunction(remat->ranks[r].info.function);
      // Recomputation: more ops (the clones). Full remat recomputes what the backward reads of
      // each layer: q, k, v (qkv matmul), the softmax output (q·kᵀ), the merged heads (probs·v),
      // the ln2 input (attention projection), the GELU input (fc) — not the mlp projection, whose
      // output only feeds the stored layer output. 5 contractions per layer and micro-batch.
      EXPECT_GT(g->numOps(), f->numOps()) << "rank " << r;
      if (mode == passes::RematMode::Full) {
        EXPECT_EQ(contractions(*g) - contractions(*f), 4 * 5 * 2) << "rank " << r;
      }
      EXPECT_LT(activations(b[r]), activations(a[r])) << "rank " << r;
    }
    expectBitwiseEqual(runStep(*plain), runStep(*remat));
  }
  auto bad = build(ScheduleKind::OneFOneB, 2, 4, true, passes::RematMode::Auto);
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("remat auto is not supported"), std::string::npos);
}

// Issue 6: under 1F1B rank r holds p−r micro-batches' activations (the first stage the most),
// under GPipe every rank holds all M.
TEST(StageMemory, OneFOneBFirstStageHoldsTheMostActivations) {
  const int p = 4, M = 8;
  auto ofob = build(ScheduleKind::OneFOneB, p, M, true), gpipe = build(ScheduleKind::GPipe, p, M, true);
  ASSERT_TRUE(ofob.isOk()) << ofob.status().message();
  ASSERT_TRUE(gpipe.isOk()) << gpipe.status().message();
  auto a = memoryOf(*ofob, M), g = memoryOf(*gpipe, M);
  // Ranks 0..2 run one identical layer each (plus the embedding on rank 0): activations fall
  // with the micro-batches in flight, 4, 3, 2; rank 3 holds one.
  EXPECT_GT(activations(a[0]), activations(a[1]));
  EXPECT_GT(activations(a[1]), activations(a[2]));
  EXPECT_GT(activations(a[0]), activations(a[3]));
  for (int r = 0; r < p; ++r) EXPECT_GT(activations(g[r]), activations(a[r])) << "rank " << r;
  // GPipe's M = 8 in flight against 1F1B's p - r = 3 on rank 1: its activations grow in about
  // that proportion (a layer's forward values of one micro-batch, plus the transients of the
  // op running at the peak).
  const double ratio = static_cast<double>(activations(g[1])) / static_cast<double>(activations(a[1]));
  EXPECT_GT(ratio, 8.0 / 3 * 0.8) << activations(g[1]) << " vs " << activations(a[1]);
  EXPECT_LT(ratio, 8.0 / 3 * 1.2) << activations(g[1]) << " vs " << activations(a[1]);
  // Parameters are what each rank holds (its layer; the tied embedding on ranks 0 and 3), the
  // same under both schedules; the report names every rank.
  for (int r = 0; r < p; ++r)
    EXPECT_EQ(a[r].maxByCategory[static_cast<int>(passes::MemoryCategory::Parameters)],
              g[r].maxByCategory[static_cast<int>(passes::MemoryCategory::Parameters)]);
  const std::string text = printStageMemory(a);
  for (const char* s : {"rank 0 (stage 0)", "rank 3 (stage 3)", "activations", "workspace", "largest at the peak"})
    EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text;
}

}  // namespace
}  // namespace tessera::partition::pipeline
