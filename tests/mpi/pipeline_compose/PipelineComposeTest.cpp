// Pipeline parallelism composed with the other axes under mpirun (issue 6): pp=2 x dp=2 (1F1B,
// M=4, SGD), pp=2 x tp=2 Megatron (SGD), pp=2 x dp=2 ZeRO-1 with full remat (AdamW, M=2), on 4 ranks;
// 10 steps of the zoo GPT (4 layers, hidden 16, vocabulary 257) equal the single-device run:
// per-step losses within 1e-5 relative, final parameters within 1e-5 of each tensor's scale
// (AdamW 1e-4, and the attention k-bias bounded by 2·lr·steps: tests/mpi/pipeline's rules).
//
// The plans are the launcher's (buildPipelinePlan: each pipeline rank's step partitioned over
// dp/tp by the presets, launcher/PipelineTrain.h), through the plan file's bytes, run by
// RankTrainer on this rank's RankContext exactly as `tessera run` runs them: every rank takes
// its shard of its stage's parameters and state and its dp shard of each micro-batch; the loss
// every rank reports is the global one (compared on every rank, not just rank 0).
//
// Engines: SGD on the compiled engine (pipeline and reference); AdamW on the interpreter, as in
// tests/mpi/pipeline (the compiled engine's micro-batch GEMMs drift single AdamW elements past
// 1e-4 of scale).
#include <gtest/gtest.h>

#include <string>

#include "launcher/PipelineTrain.h"
#include "partition/mesh/MeshSpec.h"
#include "tests/mpi/support/TrainRuns.h"

namespace tessera {
namespace {

using mpi_test::EngineKind;
using mpi_test::Trajectory;

constexpr double kAdamLr = 1e-3;
const mpi_test::RunShape kShape{10, 8, 8, 5};

struct Config {
  std::string name;
  std::string mesh;
  std::string parallel;  // --parallel
  std::string schedule;
  int m;
  bool adamw;
  passes::RematMode remat = passes::RematMode::None;
  EngineKind engine = EngineKind::Compiled;
};

std::unique_ptr<launcher::DistributedPlan> makePlan(const Config& c) {
  auto m = mpi_test::tinyModel(false, 4, kShape.seq);
  if (!m) return nullptr;
  const passes::TrainStepOptions ts = mpi_test::optimizerOptions(c.adamw, kAdamLr);
  auto info = passes::buildTrainStep(*m, ts);
  EXPECT_TRUE(info.isOk()) << info.status().message();
  if (!info.isOk()) return nullptr;
  auto mesh = partition::parseMeshSpec(c.mesh);
  EXPECT_TRUE(mesh.isOk()) << mesh.status().message();
  if (!mesh.isOk()) return nullptr;
  launcher::PipelineFlags f;
  f.schedule = c.schedule;
  f.microBatches = c.m;
  auto options = launcher::pipelineOptions(f, *mesh, kShape.batch);
  EXPECT_TRUE(options.isOk()) << options.status().message();
  if (!options.isOk()) return nullptr;
  options->remat = c.remat;
  launcher::PlanRequest req;
  req.mesh = *mesh;
  launcher::DistFlags d;
  d.mesh = c.mesh;
  d.parallel = {c.parallel};
  Status presets = launcher::pipelinePresets(d, *mesh, req);
  EXPECT_TRUE(presets.isOk()) << presets.message();
  req.model = c.name;
  req.data.batch = kShape.batch;
  req.data.seq = kShape.seq;
  req.data.seed = kShape.seed;
  std::string memory;
  auto plan = launcher::buildPipelinePlan(std::move(m), *info, ts, req, *options, nullptr, nullptr, &memory);
  EXPECT_TRUE(plan.isOk()) << plan.status().message();
  if (!plan.isOk()) return nullptr;
  EXPECT_NE(memory.find("rank 1 (stage 1)"), std::string::npos) << memory;
  auto read = mpi_test::throughPlanFile(*plan, c.name);
  if (!read) return nullptr;
  // The pipeline section carries each step's layouts (the plan is partitioned, not replicated).
  EXPECT_EQ(read->pipeline.argShardings.size(), 2u);
  for (const auto& s : read->pipeline.argShardings) EXPECT_FALSE(s.empty());
  return read;
}

const Trajectory& reference(bool adamw, EngineKind engine) {
  static std::map<std::pair<bool, EngineKind>, Trajectory> cache;
  auto key = std::make_pair(adamw, engine);
  auto it = cache.find(key);
  if (it == cache.end())
    it = cache
             .emplace(key, mpi_test::singleDevice(mpi_test::tinyModel(false, 4, kShape.seq),
                                                  mpi_test::optimizerOptions(adamw, kAdamLr), engine, kShape))
             .first;
  return it->second;
}

class PipelineCompose : public ::testing::TestWithParam<Config> {};

TEST_P(PipelineCompose, TenStepsEqualOneDevice) {
  const Config& c = GetParam();
  if (comm::testing_support::world().size() != 4) GTEST_SKIP() << "needs 4 ranks";
  auto plan = makePlan(c);
  ASSERT_TRUE(plan);
  const Trajectory& want = reference(c.adamw, c.engine);
  Trajectory got = mpi_test::runPlan(*plan, c.engine, kShape.steps);
  mpi_test::compareTrajectories(got, want, kShape.steps, c.adamw, kAdamLr, 1e-5, c.adamw ? 1e-4 : 1e-5);
}

INSTANTIATE_TEST_SUITE_P(
    Configs, PipelineCompose,
    ::testing::Values(Config{"gpt_pp2xdp2_1f1b_m4", "pp=2,dp=2", "dp", "1f1b", 4, false},
                      Config{"gpt_pp2xtp2_megatron", "pp=2,tp=2", "megatron", "1f1b", 4, false},
                      Config{"gpt_pp2xdp2_zero1_remat_adamw_m2", "pp=2,dp=2", "zero=1", "1f1b", 2, true,
                             passes::RematMode::Full, EngineKind::Interp}),
    [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace tessera
