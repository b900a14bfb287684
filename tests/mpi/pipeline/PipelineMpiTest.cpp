// Pipeline-parallel training under mpirun equals one device: the zoo GPT and MoE-GPT (4 layers,
// hidden 16), 10 steps of SGD with momentum and of AdamW, for pp=2 (np 2) and pp=4 (np 4) under
// GPipe and 1F1B with M = 4 and 8 and interleaved 1F1B with V = 2 (pp=2: 4 stages of one layer),
// all on the compiled engine. Each run is held against two single-device runs (TrainRuns.h
// compareWithOneDevice; AdamW: the attention k-bias bounded by 2·lr·steps):
// - the compiled single-device step that accumulates the same M micro-batches (accum = M): the
//   same sums in the same order, so per-step losses, parameters norm-wise per tensor and
//   element-wise against the tensor's max |w|, all within 1e-5;
// - the interpreter's full-batch step (the oracle; accum = M for MoE-GPT, whose auxiliary loss is
//   not linear in the batch): losses 1e-5; parameters 1e-5 (SGD); AdamW 1e-4 norm-wise and 1e-3
//   element-wise, the measured distance of the compiled engine itself from the oracle (below).
// Why not the compiled full-batch step for AdamW: it is the outlier. Measured (pp=2 1F1B M=4,
// lr 1e-3, 10 steps; norm-wise / element-wise of scale, worst tensor h3.mlp.proj.w, element 493):
// pipeline vs compiled accum=4 1.1e-7 / 2.1e-7 (losses bitwise equal); interpreter accum=4 vs
// interpreter accum=1 1.4e-7 / 4.0e-7 (the interpreter rounds each contraction once, so the
// micro-batch split changes nothing); compiled accum=4 vs interpreter accum=4 6.2e-6 / 4.3e-5;
// compiled accum=1 vs interpreter accum=1 4.3e-5 / 3.0e-4 — the compiled full-batch step's f32
// sums over 64 tokens (16 per micro-batch) in hidden unit 30 of layer 3's MLP, a nearly dead unit
// whose gradients cancel (h3.mlp.fc.b[30] is the worst element of its tensor too), and Adam divides
// each gradient by its own magnitude, so that rounding becomes an update difference of ~1% of lr.
// The tensor's scale is small (max |w| 0.029: GPT-2's output projections start at
// 0.02/sqrt(2·layers)), which is why 7.7e-6 is 2.6e-4 of it. OracleIgnoresMicroBatches checks the
// premise. Against the oracle the compiled pipelines measure up to 2.0e-5 norm-wise and 1.4e-4 of
// scale (pp=4 1F1B M=8, same tensor and element; compiled accum = 8 vs the oracle is the same
// distance): the compiled engine's distance from the oracle, not the pipeline's, which is why the
// AdamW oracle bounds are 1e-4 / 1e-3 (a bound below the compiled single-device step's own 4.3e-5 / 3.0e-4
// would fail the engine, not the pipeline). SGD meets 1e-5 against either reference.
//
// The distributed side is exactly `tessera run`: the plan is built by buildPipelinePlan, goes
// through the plan file's bytes, and runs through RankTrainer on this rank's RankContext (made
// with the plan's communicator manifest). The references run on every rank: the single-device
// training loop with the same weights, corpus and seed. Each test needs a given number of ranks
// and skips at the other rank count of NP.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "launcher/PipelineTrain.h"
#include "partition/mesh/MeshSpec.h"
#include "tests/mpi/support/TrainRuns.h"

namespace tessera {
namespace {

using launcher::DistributedPlan;
using mpi_test::EngineKind;
using mpi_test::Trajectory;

constexpr int kSteps = 10;
constexpr int64_t kBatch = 8, kSeq = 8;
constexpr uint64_t kSeed = 5;
constexpr double kAdamLr = 1e-3;

struct Config {
  std::string name;
  bool moe;
  int p;
  std::string schedule;
  int m, v;
  EngineKind engine = EngineKind::Compiled;
};

std::unique_ptr<ir::Module> model(bool moe) { return mpi_test::tinyModel(moe, 4, kSeq); }

passes::TrainStepOptions optimizer(bool adamw) { return mpi_test::optimizerOptions(adamw, kAdamLr); }

// The single-device run of a (model, optimizer, engine, accumulation), computed once per process.
const Trajectory& reference(bool moe, bool adamw, EngineKind engine, int accum) {
  static std::map<std::tuple<bool, bool, EngineKind, int>, Trajectory> cache;
  const auto key = std::make_tuple(moe, adamw, engine, accum);
  auto it = cache.find(key);
  if (it == cache.end()) {
    passes::TrainStepOptions ts = optimizer(adamw);
    ts.accum = accum;
    it = cache.emplace(key, mpi_test::singleDevice(model(moe), ts, engine, {kSteps, kBatch, kSeq, kSeed})).first;
  }
  return it->second;
}

std::unique_ptr<DistributedPlan> makePlan(const Config& c, bool adamw) {
  auto m = model(c.moe);
  if (!m) return nullptr;
  const passes::TrainStepOptions ts = optimizer(adamw);
  auto info = passes::buildTrainStep(*m, ts);
  EXPECT_TRUE(info.isOk()) << info.status().message();
  if (!info.isOk()) return nullptr;
  auto mesh = partition::parseMeshSpec("pp=" + std::to_string(c.p));
  EXPECT_TRUE(mesh.isOk());
  if (!mesh.isOk()) return nullptr;
  launcher::PipelineFlags f;
  f.schedule = c.schedule;
  f.microBatches = c.m;
  f.virtualStages = c.v;
  auto options = launcher::pipelineOptions(f, *mesh, kBatch);
  EXPECT_TRUE(options.isOk()) << options.status().message();
  if (!options.isOk()) return nullptr;
  launcher::PlanRequest req;
  req.mesh = *mesh;
  req.model = c.name;
  req.data.batch = kBatch;
  req.data.seq = kSeq;
  req.data.seed = kSeed;
  auto plan = launcher::buildPipelinePlan(std::move(m), *info, ts, req, *options);
  EXPECT_TRUE(plan.isOk()) << plan.status().message();
  if (!plan.isOk()) return nullptr;
  auto read = mpi_test::throughPlanFile(*plan, c.name);
  if (!read) return nullptr;
  EXPECT_EQ(read->pipeline.functions, plan->pipeline.functions);
  EXPECT_EQ(read->pipeline.owned, plan->pipeline.owned);
  EXPECT_EQ(read->pipeline.microBatches, c.m);
  return read;
}

Trajectory distributed(const DistributedPlan& plan, EngineKind engine) {
  return mpi_test::runPlan(plan, engine, kSteps);
}

class PipelineMpi : public ::testing::TestWithParam<std::tuple<Config, bool>> {};

TEST_P(PipelineMpi, TenStepsEqualOneDevice) {
  const auto& [c, adamw] = GetParam();
  if (c.p != comm::testing_support::world().size()) GTEST_SKIP() << "pp=" << c.p << " needs " << c.p << " ranks";
  auto plan = makePlan(c, adamw);
  ASSERT_TRUE(plan);
  Trajectory got = distributed(*plan, c.engine);
  mpi_test::compareWithOneDevice(got, reference(c.moe, adamw, c.engine, c.m),
                                 reference(c.moe, adamw, EngineKind::Interp, c.moe ? c.m : 1), kSteps, adamw,
                                 kAdamLr);
}

// The premise of the oracle reference: the interpreter's AdamW step does not depend on the
// micro-batch split (accum = 4 vs the full batch: measured 1.4e-7 norm-wise, 4.0e-7 of scale), while
// the compiled engine's does (3.7e-5 / 2.6e-4 in h3.mlp.proj.w; not asserted, see the file comment).
TEST(PipelineMpiOracle, OracleIgnoresMicroBatches) {
  if (comm::testing_support::world().size() != 2) GTEST_SKIP() << "runs once, at np 2";
  mpi_test::compareTrajectories(reference(false, true, EngineKind::Interp, 4),
                                reference(false, true, EngineKind::Interp, 1), kSteps, true, kAdamLr, 1e-5, 1e-5,
                                1e-5, "interpreter accum 4 vs 1");
}

// (config, AdamW?), all on the compiled engine.
const std::vector<std::tuple<Config, bool>>& configs() {
  static const std::vector<std::tuple<Config, bool>> c = [] {
    return std::vector<std::tuple<Config, bool>>{
        {{"gpt_pp2_gpipe_m4", false, 2, "gpipe", 4, 0}, false},
        {{"gpt_pp2_1f1b_m8", false, 2, "1f1b", 8, 0}, false},
        {{"gpt_pp2_interleaved_v2_m4", false, 2, "interleaved", 4, 2}, false},
        {{"gpt_pp2_1f1b_m4", false, 2, "1f1b", 4, 0}, true},
        {{"moe_pp2_interleaved_v2_m4", true, 2, "interleaved", 4, 2}, false},
        {{"gpt_pp4_gpipe_m8", false, 4, "gpipe", 8, 0}, false},
        {{"gpt_pp4_1f1b_m4", false, 4, "1f1b", 4, 0}, false},
        {{"gpt_pp4_1f1b_m8", false, 4, "1f1b", 8, 0}, true},
        {{"moe_pp4_1f1b_m4", true, 4, "1f1b", 4, 0}, false},
    };
  }();
  return c;
}

INSTANTIATE_TEST_SUITE_P(Configs, PipelineMpi, ::testing::ValuesIn(configs()),
                         [](const auto& p) {
                           return std::get<0>(p.param).name + (std::get<1>(p.param) ? "_adamw" : "_sgd");
                         });

TEST(PipelineMpiRepeat, SamePlanTwiceIsBitwiseEqual) {
  const int n = comm::testing_support::world().size();
  const Config c{"gpt_1f1b", false, n, "1f1b", 4, 0};
  auto plan = makePlan(c, /*adamw=*/false);
  ASSERT_TRUE(plan);
  Trajectory a = distributed(*plan, c.engine), b = distributed(*plan, c.engine);
  ASSERT_EQ(a.losses.size(), static_cast<size_t>(kSteps));
  EXPECT_EQ(a.losses, b.losses);
  ASSERT_EQ(a.params.size(), b.params.size());
  for (const auto& [name, t] : a.params) EXPECT_TRUE(t == b.params.at(name)) << name;
}

}  // namespace
}  // namespace tessera
