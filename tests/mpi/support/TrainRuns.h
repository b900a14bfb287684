// Shared pieces of the multi-rank training tests: the tiny zoo model, the optimizers, the
// single-device reference run (the training loop of `tessera train`, batches drawn as it draws
// them), a plan through the plan file's bytes (as `tessera run` reads it), one run of a plan on
// this rank (as `tessera run` runs it), and the comparison of trajectories.
//
// Header-only (tests/mpi/support/ is not a test folder; its MpiTestMain.cpp is the only library
// there). Used by tests/mpi/pipeline_compose, tests/mpi/pipeline and tests/mpi/train_equivalence.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "codegen/dist/RankContext.h"
#include "frontend/Zoo.h"
#include "launcher/CharData.h"
#include "launcher/PlanFile.h"
#include "launcher/RankTrainer.h"
#include "launcher/TrainLoop.h"
#include "tests/mpi/support/MpiTest.h"

namespace tessera::mpi_test {

using EngineKind = launcher::TrainLoopOptions::EngineKind;

struct RunShape {
  int steps = 10;
  int64_t batch = 8, seq = 8;
  uint64_t seed = 5;
};

// The zoo GPT or MoE-GPT with `layers` layers, hidden 16, 4 heads, vocabulary 257, ffn 32.
inline std::unique_ptr<ir::Module> tinyModel(bool moe, int layers, int64_t seq) {
  std::map<std::string, std::string> flags = {{"layers", std::to_string(layers)}, {"hidden", "16"}, {"heads", "4"},
                                              {"seq", std::to_string(seq)}, {"vocab", "257"},
                                              {"ffn", "32"}, {"seed", "3"}};
  if (moe) {
    flags["experts"] = "4";
    flags["group_size"] = std::to_string(seq);
  }
  auto m = frontend::buildZooModel(moe ? "moe-gpt" : "gpt", flags);
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? std::move(*m) : nullptr;
}

// SGD with momentum 0.9 at lr 0.1, or AdamW at `adamLr`.
inline passes::TrainStepOptions optimizerOptions(bool adamw, double adamLr) {
  passes::TrainStepOptions o;
  if (adamw) {
    o.optimizer.kind = passes::OptimizerKind::AdamW;
    o.optimizer.lr = adamLr;
  } else {
    o.optimizer.kind = passes::OptimizerKind::Sgd;
    o.optimizer.lr = 0.1;
    o.optimizer.momentum = 0.9;
  }
  return o;
}

struct Trajectory {
  std::vector<double> losses;
  std::map<std::string, ir::Tensor> params;
};

// The single-device run of step `ts` of `m` (taken) on `engine`.
inline Trajectory singleDevice(std::unique_ptr<ir::Module> m, const passes::TrainStepOptions& ts, EngineKind engine,
                               const RunShape& shape) {
  Trajectory out;
  if (!m) return out;
  auto info = passes::buildTrainStep(*m, ts);
  EXPECT_TRUE(info.isOk()) << info.status().message();
  if (!info.isOk()) return out;
  auto corpus = launcher::CharCorpus::load(launcher::kDefaultCorpus, shape.seq);
  EXPECT_TRUE(corpus.isOk()) << corpus.status().message();
  if (!corpus.isOk()) return out;
  std::mt19937_64 rng(shape.seed);
  launcher::DataFn data = [&](int) -> StatusOr<launcher::StepData> {
    launcher::CharBatch b = corpus->sample(shape.batch, shape.seq, rng);
    launcher::StepData d;
    d.inputs = {{"tokens", b.tokens}, {"targets", b.targets}};
    d.tokens = shape.batch * shape.seq;
    return d;
  };
  launcher::TrainLoopOptions lo;
  lo.steps = shape.steps;
  lo.engine = engine;
  lo.engineOptions.threads = 1;
  auto records = launcher::runTrainLoop(*m, *info, data, lo);
  EXPECT_TRUE(records.isOk()) << records.status().message();
  if (!records.isOk()) return out;
  for (const launcher::StepRecord& r : *records) out.losses.push_back(r.loss);
  for (const std::string& n : info->params) out.params[n] = *m->findParam(n)->init;
  return out;
}

// The plan through the plan file's bytes, as `tessera run` reads it.
inline std::unique_ptr<launcher::DistributedPlan> throughPlanFile(const launcher::DistributedPlan& plan,
                                                                  const std::string& name) {
  auto bytes = launcher::encodePlan(plan);
  EXPECT_TRUE(bytes.isOk()) << bytes.status().message();
  if (!bytes.isOk()) return nullptr;
  auto read = launcher::decodePlan(*bytes, name + ".tpb");
  EXPECT_TRUE(read.isOk()) << read.status().message();
  if (!read.isOk()) return nullptr;
  return std::make_unique<launcher::DistributedPlan>(std::move(*read));
}

// One run of the plan on this rank, as `tessera run` does it. Every rank must call it.
inline Trajectory runPlan(const launcher::DistributedPlan& plan, EngineKind engine, int steps) {
  Trajectory out;
  comm::Communicator& world = comm::testing_support::world();
  auto rank = codegen::RankContext::create(world, plan.mesh, plan.localFunction());
  EXPECT_TRUE(rank.isOk()) << rank.status().message();
  if (!rank.isOk()) return out;
  launcher::RankTrainOptions o;
  o.steps = steps;
  o.engine = engine;
  o.engineOptions.threads = 1;
  auto trainer = launcher::RankTrainer::create(plan, **rank, o);
  EXPECT_TRUE(trainer.isOk()) << trainer.status().message();
  if (!trainer.isOk()) return out;
  auto records = (*trainer)->run();
  EXPECT_TRUE(records.isOk()) << records.status().message();
  if (!records.isOk()) return out;
  for (const launcher::StepRecord& r : *records) out.losses.push_back(r.loss);
  auto params = (*trainer)->globalParameters();
  EXPECT_TRUE(params.isOk()) << params.status().message();
  if (params.isOk()) out.params = std::move(*params);
  return out;
}

// A final parameter's error against the reference, per tensor (the two measures of
// tests/mpi/train_equivalence):
// - norm-wise, ||got - want|| / ||want|| (the usual meaning of "relative" for a tensor), and
// - element-wise against the tensor's scale, max_i |got_i - want_i| / max_i |want_i| (stricter in
//   kind: one element cannot hide in the norm; per-element relative error is not meaningful for
//   trained tensors, whose elements cross zero).
// Elements flagged `absolute` are left out of both (scale included) and reported separately.
struct TensorError {
  double norm = 0, element = 0;
  double scale = 0;                        // max |want_i| over the compared elements
  int64_t worstAt = -1;                    // the element with the largest |got - want|
  double worstGot = 0, worstWant = 0;
  double absoluteWorst = 0;                // largest |got - want| among the flagged elements
  int64_t absoluteWorstAt = -1;
};

inline TensorError tensorError(const ir::Tensor& got, const ir::Tensor& want, const std::vector<bool>& absolute) {
  TensorError e;
  double diff2 = 0, want2 = 0, maxDiff = -1;
  for (int64_t i = 0; i < want.numElements(); ++i) {
    const double g = got[i], w = want[i], d = std::abs(g - w);
    if (!absolute.empty() && absolute[i]) {
      if (d >= e.absoluteWorst) e.absoluteWorst = d, e.absoluteWorstAt = i;
      continue;
    }
    e.scale = std::max(e.scale, std::abs(w));
    if (d > maxDiff) maxDiff = d, e.worstAt = i, e.worstGot = g, e.worstWant = w;
    diff2 += d * d;
    want2 += w * w;
  }
  maxDiff = std::max(maxDiff, 0.0);
  e.norm = want2 > 0 ? std::sqrt(diff2 / want2) : std::sqrt(diff2);
  e.element = e.scale > 0 ? maxDiff / e.scale : maxDiff;
  return e;
}

// Checks one tensor: norm-wise <= normRel, element-wise <= elementRel of the scale, flagged
// elements within absBound. A failure names the tensor, the scale, the worst element with its
// values at full precision, and the bound, so that what fails is never inferred from rounded
// prints.
inline TensorError expectTensorClose(const std::string& name, const ir::Tensor& got, const ir::Tensor& want,
                                     const std::vector<bool>& absolute, double absBound, double normRel,
                                     double elementRel) {
  EXPECT_EQ(got.shape(), want.shape()) << name;
  if (got.shape() != want.shape()) return {INFINITY, INFINITY, 0, -1, 0, 0, 0, -1};
  const TensorError e = tensorError(got, want, absolute);
  auto worst = [&] {
    char buf[256];
    std::snprintf(buf, sizeof buf, "scale (max |want|) %.9g; worst element [%lld]: got %.9g, want %.9g, |diff| %.3g",
                  e.scale, static_cast<long long>(e.worstAt), e.worstGot, e.worstWant,
                  std::abs(e.worstGot - e.worstWant));
    return std::string(buf);
  };
  EXPECT_LE(e.norm, normRel) << name << ": ||got - want|| / ||want|| = " << e.norm << "; " << worst();
  EXPECT_LE(e.element, elementRel) << name << ": max |got - want| / max |want| = " << e.element
                                   << " > " << elementRel << "; " << worst();
  if (e.absoluteWorstAt >= 0) {
    EXPECT_LE(e.absoluteWorst, absBound) << name << "[" << e.absoluteWorstAt << "] (absolute bound)";
  }
  return e;
}

struct TrajectoryError {
  double loss = 0, norm = 0, element = 0;
  std::string normAt, elementAt;  // the tensors (and element) where the worst errors are
};

// Per-step losses within `lossRel` relative; every final parameter norm-wise within `normRel`
// and element-wise within `paramRel` of its scale. AdamW: the k third of each attention qkv bias
// (an exactly-zero gradient, whose rounding noise Adam turns into updates of about lr) bounded by
// 2·lr·steps instead. Prints the worst errors on rank 0 (prefixed by `what`) and returns them.
inline TrajectoryError compareTrajectories(const Trajectory& got, const Trajectory& want, int steps, bool adamw,
                                           double adamLr, double lossRel, double paramRel,
                                           double normRel = 1e-5, const std::string& what = "") {
  TrajectoryError out;
  EXPECT_EQ(got.losses.size(), static_cast<size_t>(steps));
  EXPECT_EQ(want.losses.size(), static_cast<size_t>(steps));
  if (got.losses.size() != static_cast<size_t>(steps) || want.losses.size() != static_cast<size_t>(steps))
    return {INFINITY, INFINITY, INFINITY, "", ""};
  for (int s = 0; s < steps; ++s) {
    EXPECT_NEAR(got.losses[s], want.losses[s], lossRel * std::abs(want.losses[s])) << "step " << s + 1;
    out.loss = std::max(out.loss, std::abs(got.losses[s] - want.losses[s]) / std::abs(want.losses[s]));
  }
  // The loss moves: the comparison is not of constant trajectories.
  EXPECT_NE(want.losses.front(), want.losses.back());
  EXPECT_EQ(got.params.size(), want.params.size());
  for (const auto& [name, w] : want.params) {
    auto it = got.params.find(name);
    EXPECT_NE(it, got.params.end()) << name;
    if (it == got.params.end()) continue;
    std::vector<bool> absolute;
    if (adamw && name.size() > 11 && name.compare(name.size() - 11, 11, ".attn.qkv.b") == 0) {
      const int64_t h = w.numElements() / 3;
      absolute.assign(w.numElements(), false);
      for (int64_t i = h; i < 2 * h; ++i) absolute[i] = true;
    }
    const TensorError e = expectTensorClose(name, it->second, w, absolute, 2 * adamLr * steps, normRel, paramRel);
    if (e.norm > out.norm) out.norm = e.norm, out.normAt = name;
    if (e.element > out.element) out.element = e.element, out.elementAt = name + "[" + std::to_string(e.worstAt) + "]";
  }
  if (comm::testing_support::world().rank() == 0)
    std::printf("    %s%smax relative error: losses %.2g; parameters norm-wise %.2g (%s), element-wise %.2g of "
                "scale (%s)\n",
                what.c_str(), what.empty() ? "" : ": ", out.loss, out.norm, out.normAt.c_str(), out.element,
                out.elementAt.c_str());
  return out;
}

// The pipeline suites' two references (tests/mpi/pipeline's file comment has the measurements):
// - `sameMicroBatches`: the compiled single-device step accumulating the same M micro-batches
//   (accum = M) — the same sums in the same order, so every bound is 1e-5 (measured <= 2.5e-7);
// - `oracle`: the interpreter's single-device step (full batch; accum = M where the loss is not
//   linear in the batch), which rounds each contraction once, so the micro-batch split does not
//   move it (1.4e-7). Losses 1e-5; parameters 1e-5 norm-wise and element-wise for SGD. AdamW:
//   1e-4 norm-wise and 1e-3 of scale element-wise, because the compiled engine alone, with no
//   pipeline, is that far from the oracle: the compiled single-device full-batch step vs the
//   interpreter's, 10 steps, lr 1e-3, measured 4.3e-5 norm-wise and 3.0e-4 of scale in
//   h3.mlp.proj.w (a nearly dead MLP unit whose gradient terms cancel; Adam divides the f32
//   rounding of that sum by its own magnitude). The pipelines' worst: 2.0e-5 / 1.4e-4 (pp=4 M=8).
struct OneDeviceErrors {
  TrajectoryError sameMicroBatches, oracle;
};

inline OneDeviceErrors compareWithOneDevice(const Trajectory& got, const Trajectory& sameMicroBatches,
                                            const Trajectory& oracle, int steps, bool adamw, double adamLr) {
  OneDeviceErrors e;
  e.sameMicroBatches = compareTrajectories(got, sameMicroBatches, steps, adamw, adamLr, 1e-5, 1e-5, 1e-5,
                                           "vs compiled one device, same micro-batches");
  e.oracle = compareTrajectories(got, oracle, steps, adamw, adamLr, 1e-5, adamw ? 1e-3 : 1e-5, adamw ? 1e-4 : 1e-5,
                                 "vs interpreter one device");
  return e;
}

}  // namespace tessera::mpi_test
