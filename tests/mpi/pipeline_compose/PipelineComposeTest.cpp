// Pipeline parallelism composed with the other axes under mpirun (issue 6), on 4 ranks, all on the
// compiled engine: pp=2 x dp=2 (1F1B, M=4, SGD), pp=2 x tp=2 Megatron (SGD) and with sequence
// parallelism (SGD), pp=2 x dp=2 ZeRO-1 with full remat (AdamW, M=2), interleaved V=2 x dp=2 (SGD),
// MoE-GPT pp=2 x ep=2 expert parallelism (SGD and AdamW). 10 steps of the zoo model (4 layers,
// hidden 16, vocabulary 257) against the two single-device references of tests/mpi/pipeline
// (TrainRuns.h compareWithOneDevice: the compiled step with the same M micro-batches, every bound
// 1e-5 except AdamW parameters element-wise 2e-5 of scale, measured below; the interpreter's step, the oracle, 1e-5 except AdamW parameters: 1e-4 norm-wise and 1e-3
// of scale, the compiled engine's own measured distance from it — tests/mpi/pipeline explains).
//
// The plans are the launcher's (buildPipelinePlan: each pipeline rank's step partitioned over
// dp/tp/ep by the presets, launcher/PipelineTrain.h), through the plan file's bytes, run by
// RankTrainer on this rank's RankContext exactly as `tessera run` runs them: every rank takes
// its shard of its stage's parameters and state and its dp shard of each micro-batch; the loss
// every rank reports is the global one (compared on every rank, not just rank 0). One config per
// GoogleTest shard (file SHARDS = the number of configs), each its own ctest entry.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "launcher/PipelineTrain.h"
#include "launcher/PresetFlags.h"
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
  bool moe;
  std::string mesh;
  std::string parallel;  // --parallel
  std::string schedule;
  int m;
  bool adamw;
  passes::RematMode remat = passes::RematMode::None;
  int v = 0;  // --virtual-stages (interleaved)
};

// The size of the mesh's dp axis (1 without one).
int dataParallel(const std::string& mesh) {
  auto m = partition::parseMeshSpec(mesh);
  EXPECT_TRUE(m.isOk()) << m.status().message();
  if (m.isOk())
    for (const ir::MeshAxis& a : m->axes)
      if (a.name == "dp") return static_cast<int>(a.size);
  return 1;
}

std::unique_ptr<launcher::DistributedPlan> makePlan(const Config& c) {
  auto m = mpi_test::tinyModel(c.moe, 4, kShape.seq);
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
  f.virtualStages = c.v;
  auto options = launcher::pipelineOptions(f, *mesh, kShape.batch);
  EXPECT_TRUE(options.isOk()) << options.status().message();
  if (!options.isOk()) return nullptr;
  options->remat = c.remat;
  launcher::PlanRequest req;
  req.mesh = *mesh;
  launcher::DistFlags d;
  d.mesh = c.mesh;
  d.parallel = {c.parallel};  // parseParallelFlag reads the comma list
  Status presets = launcher::presetsFromFlags(d, *mesh, req);
  EXPECT_TRUE(presets.isOk()) << presets.message();
  req.model = c.name;
  req.data.batch = kShape.batch;
  req.data.seq = kShape.seq;
  req.data.seed = kShape.seed;
  std::string memory;
  auto plan = launcher::buildPipelinePlan(std::move(m), *info, ts, req, *options, nullptr, nullptr, &memory);
  EXPECT_TRUE(plan.isOk()) << plan.status().message();
  if (!plan.isOk()) return nullptr;
  EXPECT_NE(memory.find("rank 1 (stage 1"), std::string::npos) << memory;  // "(stage 1,3)" interleaved
  auto read = mpi_test::throughPlanFile(*plan, c.name);
  if (!read) return nullptr;
  // The pipeline section carries each step's layouts (the plan is partitioned, not replicated).
  EXPECT_EQ(read->pipeline.argShardings.size(), 2u);
  for (const auto& s : read->pipeline.argShardings) EXPECT_FALSE(s.empty());
  return read;
}

// The single-device run of a (model, optimizer, engine, accumulation), computed once per process.
const Trajectory& reference(bool moe, bool adamw, EngineKind engine, int accum) {
  static std::map<std::tuple<bool, bool, EngineKind, int>, Trajectory> cache;
  const auto key = std::make_tuple(moe, adamw, engine, accum);
  auto it = cache.find(key);
  if (it == cache.end()) {
    passes::TrainStepOptions ts = mpi_test::optimizerOptions(adamw, kAdamLr);
    ts.accum = accum;
    it = cache.emplace(key, mpi_test::singleDevice(mpi_test::tinyModel(moe, 4, kShape.seq), ts, engine, kShape))
             .first;
  }
  return it->second;
}

class PipelineCompose : public ::testing::TestWithParam<Config> {};

TEST_P(PipelineCompose, TenStepsEqualOneDevice) {
  const Config& c = GetParam();
  if (comm::testing_support::world().size() != 4) GTEST_SKIP() << "needs 4 ranks";
  auto plan = makePlan(c);
  ASSERT_TRUE(plan);
  Trajectory got = mpi_test::runPlan(*plan, EngineKind::Compiled, kShape.steps);
  // The same-order reference sums what the pipeline's GEMMs sum: each micro-batch's dp shards
  // (the dp ranks' gradients are summed across ranks, not inside one contraction), so GPT under
  // dp accumulates M·dp pieces. Measured on ZeRO-1 AdamW M=2: accum = 2 is 1.6e-5 of scale away in
  // h3.mlp.proj.w[493] (the nearly dead unit of tests/mpi/pipeline), accum = 4 is not.
  // MoE-GPT's auxiliary loss is not linear in the batch: its references accumulate the M
  // micro-batches (the ep ranks compute each micro-batch's auxiliary loss together).
  const int pieces = c.moe ? c.m : c.m * dataParallel(c.mesh);
  // mpi_test::compareWithOneDevice's two comparisons, with one bound of the first loosened for
  // GPT with AdamW: its parameters element-wise within 2e-5 of scale (the rest stays 1e-5).
  // Measured (session 15) on gpt_pp2xdp2_zero1_remat_adamw_m2, the only AdamW GPT config, in
  // h3.mlp.proj.w[493] (the nearly dead unit above; scale 0.0294, got -0.0122634685, want
  // -0.012263786): 1.08e-5 of scale with the own sgemm, the default GEMM; 3.6e-7 (elsewhere)
  // with TESSERA_GEMM=openblas; norm-wise 1.5e-6 and losses 8.8e-8 on both. The two runs do
  // not sum in exactly the same order even here: the pipeline adds each dp rank's 2 micro-batch
  // gradients, then the ranks' sums (ZeRO-1's reduce-scatter), the reference adds its 4
  // micro-batches in a row; Adam divides that unit's near-zero gradient, and so its last-bit
  // rounding, by its own magnitude (the accum = 2 reference above is 1.6e-5 away with OpenBLAS
  // too). Which GEMM rounds last bits that Adam then amplifies past 1e-5 is chance, not a bug:
  // the own sgemm's run is closer to the interpreter oracle than OpenBLAS's (2.2e-5 against
  // 4.3e-5 of scale at the same element). 2e-5: 1.85x the worst measured.
  const Trajectory& same = reference(c.moe, c.adamw, EngineKind::Compiled, pieces);
  const Trajectory& oracle = reference(c.moe, c.adamw, EngineKind::Interp, c.moe ? c.m : 1);
  mpi_test::compareTrajectories(got, same, kShape.steps, c.adamw, kAdamLr, 1e-5,
                                c.adamw && !c.moe ? 2e-5 : 1e-5, 1e-5,
                                "vs compiled one device, same micro-batches");
  mpi_test::compareTrajectories(got, oracle, kShape.steps, c.adamw, kAdamLr, 1e-5, c.adamw ? 1e-3 : 1e-5,
                                c.adamw ? 1e-4 : 1e-5, "vs interpreter one device");
}

// One GoogleTest shard each (SHARDS); keep SHARDS equal to the number of configs.
INSTANTIATE_TEST_SUITE_P(
    Configs, PipelineCompose,
    ::testing::Values(Config{"gpt_pp2xdp2_1f1b_m4", false, "pp=2,dp=2", "dp", "1f1b", 4, false},
                      Config{"gpt_pp2xtp2_megatron", false, "pp=2,tp=2", "megatron", "1f1b", 4, false},
                      Config{"gpt_pp2xtp2_megatron_sp", false, "pp=2,tp=2", "megatron,sequence-parallel", "1f1b",
                             4, false},
                      Config{"gpt_pp2xdp2_zero1_remat_adamw_m2", false, "pp=2,dp=2", "zero=1", "1f1b", 2, true,
                             passes::RematMode::Full},
                      Config{"gpt_pp2xdp2_interleaved_v2_m4", false, "pp=2,dp=2", "dp", "interleaved", 4, false,
                             passes::RematMode::None, 2},
                      Config{"moe_pp2xep2_1f1b_m4_sgd", true, "pp=2,ep=2", "expert-parallel=ep", "1f1b", 4, false},
                      Config{"moe_pp2xep2_1f1b_m4_adamw", true, "pp=2,ep=2", "expert-parallel=ep", "1f1b", 4,
                             true}),
    [](const auto& p) { return p.param.name; });

}  // namespace
}  // namespace tessera
