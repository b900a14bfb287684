// Distributed training equals one device, under mpirun: for the zoo GPT and MoE-GPT (2 layers,
// hidden 16, vocabulary 257 so that neither tp=2 nor tp=4 divides it), 10 steps of SGD with
// momentum and of AdamW on every plan of issue 5 give per-step losses and final parameters equal
// to the single-device run of the same step within 1e-5 relative (losses per step; parameters
// norm-wise per tensor, plus an element-wise bound against the tensor's scale), on the compiled
// engine and (SGD) on the interpreter, and the same plan run twice is bitwise equal.
//
// The distributed side is exactly `tessera run`: the plan is built by buildDistributedPlan, goes
// through the plan file's bytes (encodePlan/decodePlan), and runs through RankTrainer on this
// rank's RankContext. The reference is computed on every rank by the single-device training loop
// (launcher/TrainLoop.h) with the same engine, from the same global initial weights and the same
// character batches (same corpus, same seed). Each test needs a given number of ranks and skips at
// the other rank count of NP.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "codegen/dist/RankContext.h"
#include "frontend/Zoo.h"
#include "launcher/CharData.h"
#include "launcher/PlanFile.h"
#include "launcher/RankTrainer.h"
#include "launcher/TrainLoop.h"
#include "partition/mesh/MeshSpec.h"
#include "tests/mpi/support/MpiTest.h"
#include "tests/mpi/support/TrainRuns.h"

namespace tessera {
namespace {

using launcher::DistributedPlan;
using mpi_test::Trajectory;

constexpr int kSteps = 10;
constexpr int64_t kBatch = 4, kSeq = 8;
constexpr uint64_t kSeed = 7;
// AdamW at torch's default learning rate. At 1e-2 Adam's division by sqrt(v) turns the rounding
// differences of small gradients into parameter differences of ~1e-4 of the tensor's scale by
// step 10 (measured), so 1e-5 would test the summation order rather than the partitioning.
constexpr double kAdamLr = 1e-3;

struct Config {
  std::string name;
  bool moe;
  std::string mesh;
  std::string parallel;
};

using EngineKind = launcher::TrainLoopOptions::EngineKind;

// Every configuration runs on both engines: the reference interpreter (over the same MPI
// communicators as the compiled engine, makeRankRuntime) and the compiled engine. Each is compared
// with the single-device run on the same engine; the compiled engine's losses are also compared
// with the interpreter's single-device losses (the oracle).
const char* engineName(EngineKind e) { return e == EngineKind::Compiled ? "compiled" : "interp"; }

std::unique_ptr<ir::Module> model(bool moe) { return mpi_test::tinyModel(moe, 2, kSeq); }

passes::TrainStepOptions optimizer(bool adamw) { return mpi_test::optimizerOptions(adamw, kAdamLr); }

// Single-device: the training loop of `tessera train`, batches drawn as `tessera train` draws them.
Trajectory computeReference(bool moe, bool adamw, EngineKind engine) {
  return mpi_test::singleDevice(model(moe), optimizer(adamw), engine, {kSteps, kBatch, kSeq, kSeed});
}

// The single-device trajectories, computed once per (model, optimizer, engine) on every rank and
// shared by the configurations (the reference does not depend on the plan).
const Trajectory& reference(bool moe, bool adamw, EngineKind engine) {
  static std::map<std::tuple<bool, bool, EngineKind>, Trajectory> cache;
  auto key = std::make_tuple(moe, adamw, engine);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, computeReference(moe, adamw, engine)).first;
  return it->second;
}

// The plan, through the plan file's bytes as `tessera run` reads it.
std::unique_ptr<DistributedPlan> makePlan(const Config& c, bool adamw) {
  auto m = model(c.moe);
  if (!m) return nullptr;
  auto info = passes::buildTrainStep(*m, optimizer(adamw));
  EXPECT_TRUE(info.isOk()) << info.status().message();
  if (!info.isOk()) return nullptr;
  launcher::PlanRequest req;
  auto mesh = partition::parseMeshSpec(c.mesh);
  EXPECT_TRUE(mesh.isOk()) << mesh.status().message();
  if (!mesh.isOk()) return nullptr;
  req.mesh = *mesh;
  EXPECT_TRUE(partition::parseParallelFlag(c.parallel, req.presets).isOk());
  req.symbolValues = {{"B", kBatch}, {"S", kSeq}};
  req.model = c.name;
  req.data.batch = kBatch;
  req.data.seq = kSeq;
  req.data.seed = kSeed;
  auto plan = launcher::buildDistributedPlan(std::move(m), *info, req);
  EXPECT_TRUE(plan.isOk()) << plan.status().message();
  if (!plan.isOk()) return nullptr;
  return mpi_test::throughPlanFile(*plan, c.name);
}

// One run of the plan on this rank, as `tessera run` does it. Every rank must call it.
Trajectory distributed(const DistributedPlan& plan, EngineKind engine) {
  return mpi_test::runPlan(plan, engine, kSteps);
}

// Two measures of a final parameter's error, per tensor:
// - norm-wise, ||got - want|| / ||want|| (the usual meaning of "relative" for a tensor; issue 5
//   asks for 1e-5), and
// - element-wise against the tensor's scale, max_i |got_i - want_i| / max_i |want_i| (the rule of
//   the in-process tests, tests/unit/spmd_train/): stricter in kind, since one element cannot hide
//   in the norm. Per-element relative error is not meaningful for a trained tensor: elements that
//   cross zero, and gradient sums whose terms cancel, carry the rounding error of their terms.
// Elements marked `absolute` are left out of both and bounded by absBound instead.
struct TensorError {
  double norm = 0, element = 0;
};

TensorError tensorError(const std::string& name, const ir::Tensor& got, const ir::Tensor& want,
                        const std::vector<bool>& absolute, double absBound) {
  TensorError e;
  EXPECT_EQ(got.shape(), want.shape()) << name;
  if (got.shape() != want.shape()) return e;
  double scale = 0, diff2 = 0, want2 = 0, maxDiff = 0;
  int bad = 0;
  for (int64_t i = 0; i < want.numElements(); ++i) {
    const double g = got[i], w = want[i], d = std::abs(g - w);
    if (!absolute.empty() && absolute[i]) {
      if (!(d <= absBound) && bad++ < 5)
        ADD_FAILURE() << name << "[" << i << "]: got " << g << ", want " << w;
      continue;
    }
    scale = std::max(scale, std::abs(w));
    maxDiff = std::max(maxDiff, d);
    diff2 += d * d;
    want2 += w * w;
  }
  e.norm = want2 > 0 ? std::sqrt(diff2 / want2) : std::sqrt(diff2);
  e.element = scale > 0 ? maxDiff / scale : maxDiff;
  return e;
}

void compare(const std::string& what, const Trajectory& got, const Trajectory& want, bool adamw) {
  ASSERT_EQ(got.losses.size(), static_cast<size_t>(kSteps));
  ASSERT_EQ(want.losses.size(), static_cast<size_t>(kSteps));
  double worstLoss = 0;
  for (int s = 0; s < kSteps; ++s) {
    EXPECT_NEAR(got.losses[s], want.losses[s], 1e-5 * std::abs(want.losses[s]))
        << "step " << s + 1;
    worstLoss = std::max(worstLoss, std::abs(got.losses[s] - want.losses[s]) / std::abs(want.losses[s]));
  }
  // The comparison is of a trajectory that moves, not of two constants.
  EXPECT_NE(want.losses.front(), want.losses.back());
  ASSERT_EQ(got.params.size(), want.params.size());
  TensorError worst;
  std::string worstNormAt, worstElementAt;
  for (const auto& [name, w] : want.params) {
    auto it = got.params.find(name);
    ASSERT_NE(it, got.params.end()) << name;
    // AdamW and the attention's k-projection bias (elements [H, 2H) of h<i>.attn.qkv.b): its
    // gradient is zero in exact arithmetic (softmax is shift-invariant along the keys), so what
    // the step sees is rounding noise whose sign depends on the summation order, and Adam divides
    // it by its own magnitude into an update of about lr either way. Those elements are only
    // bounded by the furthest they can drift apart: 2 * lr * steps.
    std::vector<bool> absolute;
    if (adamw && name.size() > 11 && name.compare(name.size() - 11, 11, ".attn.qkv.b") == 0) {
      const int64_t h = w.numElements() / 3;
      absolute.assign(w.numElements(), false);
      for (int64_t i = h; i < 2 * h; ++i) absolute[i] = true;
    }
    TensorError e = tensorError(name, it->second, w, absolute, 2 * kAdamLr * kSteps);
    // Norm-wise: 1e-5 for every optimizer (issue 5).
    EXPECT_LE(e.norm, 1e-5) << name << ": ||got - want|| / ||want||";
    // Element-wise against the scale: 1e-5 for SGD, 1e-4 for AdamW. Adam divides every gradient
    // by its own running magnitude, so the last-bit differences of another summation order grow
    // in the elements whose gradients are small (measured on tp=2, vocab 257, 10 steps: 1.3e-5
    // of wte's scale, while its norm-wise error stays below 1e-5).
    EXPECT_LE(e.element, adamw ? 1e-4 : 1e-5) << name << ": max |got - want| / max |want|";
    if (e.norm > worst.norm) worst.norm = e.norm, worstNormAt = name;
    if (e.element > worst.element) worst.element = e.element, worstElementAt = name;
  }
  if (comm::testing_support::world().rank() == 0)
    std::printf("  %s: worst loss rel %.3g; parameters: norm-wise %.3g (%s), element-wise / "
                "scale %.3g (%s)\n",
                what.c_str(), worstLoss, worst.norm, worstNormAt.c_str(), worst.element,
                worstElementAt.c_str());
}

int64_t ranksOf(const std::string& mesh) {
  auto m = partition::parseMeshSpec(mesh);
  return m.isOk() ? m->numDevices() : -1;
}

class TrainEquivalence
    : public ::testing::TestWithParam<std::tuple<Config, bool, EngineKind>> {};

TEST_P(TrainEquivalence, TenStepsEqualOneDevice) {
  const auto& [c, adamw, engine] = GetParam();
  if (ranksOf(c.mesh) != comm::testing_support::world().size())
    GTEST_SKIP() << c.mesh << " needs " << ranksOf(c.mesh) << " ranks";
  auto plan = makePlan(c, adamw);
  // Every rank got the same plan (same inputs): if one failed, all did, and none is waiting.
  ASSERT_TRUE(plan);
  const Trajectory& want = reference(c.moe, adamw, engine);
  Trajectory got = distributed(*plan, engine);
  const std::string what =
      c.name + (adamw ? "_adamw" : "_sgd") + " on " + engineName(engine) + " vs one device";
  compare(what, got, want, adamw);
  if (engine == EngineKind::Compiled) {
    // The compiled engine's losses against the interpreter's single-device losses, the oracle
    // (its parameters differ from the interpreter's by the f32 kernels' rounding, which the
    // single-device engine tests bound; the losses must agree to 1e-5 all the same).
    const Trajectory& oracle = reference(c.moe, adamw, EngineKind::Interp);
    ASSERT_EQ(oracle.losses.size(), got.losses.size());
    for (size_t s = 0; s < got.losses.size(); ++s)
      EXPECT_NEAR(got.losses[s], oracle.losses[s], 1e-5 * std::abs(oracle.losses[s]))
          << "step " << s + 1 << " against the interpreter";
  }
}

const std::vector<Config>& configs() {
  static const std::vector<Config> c = [] {
    std::vector<Config> out;
    for (bool moe : {false, true}) {
      const std::string m = moe ? "moe_" : "gpt_";
      out.push_back({m + "dp4", moe, "dp=4", "dp"});
      out.push_back({m + "tp2", moe, "tp=2", "megatron"});
      out.push_back({m + "tp4", moe, "tp=4", "megatron"});
      out.push_back({m + "dp2xtp2_sp", moe, "dp=2,tp=2", "dp,megatron,sequence-parallel"});
      out.push_back({m + "dp4_zero1", moe, "dp=4", "zero=1"});
      out.push_back({m + "dp4_zero2", moe, "dp=4", "zero=2"});
      out.push_back({m + "dp4_zero3", moe, "dp=4", "zero=3"});
    }
    out.push_back({"moe_ep2", true, "ep=2", "expert-parallel=ep"});
    out.push_back({"moe_ep2xtp2", true, "ep=2,tp=2", "megatron,expert-parallel=ep"});
    return out;
  }();
  return c;
}

// Every configuration with SGD on both engines, and with AdamW on the compiled engine (whose
// losses are also held against the interpreter's single-device AdamW run). The interpreter's
// distributed AdamW runs are left out for time: they took 20-40 s each on the loaded 2-core
// machine (np 4), the whole suite 15 min with them; the interpreter's MPI path is the same
// collectives SGD exercises.
std::vector<std::tuple<Config, bool, EngineKind>> cases() {
  std::vector<std::tuple<Config, bool, EngineKind>> out;
  for (const Config& c : configs()) {
    out.emplace_back(c, false, EngineKind::Interp);
    out.emplace_back(c, false, EngineKind::Compiled);
    out.emplace_back(c, true, EngineKind::Compiled);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Configs, TrainEquivalence, ::testing::ValuesIn(cases()),
                         [](const auto& p) {
                           return std::get<0>(p.param).name +
                                  (std::get<1>(p.param) ? "_adamw_" : "_sgd_") +
                                  engineName(std::get<2>(p.param));
                         });

// The same plan run twice on the same ranks, on the compiled engine, gives the same bits, step by step and parameter by
// parameter (collectives reduce in a fixed order; nothing depends on timing).
TEST(TrainEquivalenceRepeat, SamePlanTwiceIsBitwiseEqual) {
  const Config c = comm::testing_support::world().size() == 4
                       ? Config{"gpt_dp2xtp2_sp", false, "dp=2,tp=2", "dp,megatron,sequence-parallel"}
                       : Config{"moe_ep2", true, "ep=2", "expert-parallel=ep"};
  if (ranksOf(c.mesh) != comm::testing_support::world().size()) GTEST_SKIP();
  auto plan = makePlan(c, /*adamw=*/true);
  ASSERT_TRUE(plan);
  Trajectory a = distributed(*plan, EngineKind::Compiled),
             b = distributed(*plan, EngineKind::Compiled);
  ASSERT_EQ(a.losses.size(), static_cast<size_t>(kSteps));
  EXPECT_EQ(a.losses, b.losses);
  ASSERT_EQ(a.params.size(), b.params.size());
  for (const auto& [name, t] : a.params) EXPECT_TRUE(t == b.params.at(name)) << name;
}

}  // namespace
}  // namespace tessera
