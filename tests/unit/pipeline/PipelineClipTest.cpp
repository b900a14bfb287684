// Gradient clipping with a pipeline (PipelineStep.h, ts.clip): the norm is the whole model's,
// summed over the stages (the tied embedding counted once), so a pipeline step equals the
// single-device step with the same clip. Tiny GPT, 1F1B and GPipe with pp = 2 and 4, SGD with
// momentum, 3 steps fed back, run in process (ProgramRunner.h); clip 0.05 is below the
// gradient's norm (checked: the clipped single-device run leaves the unclipped one).
#include <gtest/gtest.h>

#include <cmath>

#include "ir/Interpreter.h"
#include "partition/pipeline/PipelineOrderCheck.h"
#include "partition/pipeline/PipelineStep.h"
#include "partition/pipeline/ProgramRunner.h"
#include "passes/training/TrainStep.h"
#include "tests/unit/pipeline/PipelineTestUtil.h"

namespace tessera::partition::pipeline {
namespace {

using namespace pipeline_test;
using ir::Tensor;

constexpr int kSteps = 3;
constexpr int64_t kBatch = 8;
constexpr double kClip = 0.05;

passes::TrainStepOptions options(std::optional<double> clip) {
  passes::TrainStepOptions o;
  o.optimizer.kind = passes::OptimizerKind::Sgd;
  o.optimizer.lr = 0.1;
  o.optimizer.momentum = 0.9;
  o.clip = clip;
  return o;
}

using ClipRun = StepRunResult;

ClipRun singleDevice(std::optional<double> clip) {
  return singleDeviceRun(options(clip), kSteps, kBatch, 900);
}

ClipRun pipelined(ScheduleKind kind, int p, int M) {
  ClipRun out;
  auto m = tinyGpt();
  PipelineStepOptions o;
  o.schedule = {kind, p, M, 1};
  auto step = buildPipelineStep(*m, options(kClip), o);
  EXPECT_TRUE(step.isOk()) << step.status().message();
  if (!step.isOk()) return out;
  std::vector<const ir::Function*> fns;
  for (const PipelineRankStep& rs : step->ranks) fns.push_back(step->module->findFunction(rs.info.function));
  const ir::Mesh& mesh = *step->module->findMesh("mesh");
  Status order = checkPipelineOrder(mesh, fns);
  EXPECT_TRUE(order.isOk()) << order.message();
  std::vector<std::map<std::string, Tensor>> values(p);
  for (int s = 0; s < kSteps; ++s) {
    auto batch = tokens(kBatch, 900 + s);
    std::vector<std::vector<Tensor>> inputs;
    for (int r = 0; r < p; ++r) {
      auto in = rankStepInputs(*step, r, batch, values[r]);
      EXPECT_TRUE(in.isOk()) << in.status().message();
      if (!in.isOk()) return out;
      inputs.push_back(std::move(*in));
    }
    auto res = runPipelinePrograms(mesh, fns, inputs);
    EXPECT_TRUE(res.isOk()) << res.status().message();
    if (!res.isOk()) return out;
    for (int r = 0; r < p; ++r) {
      const passes::TrainStepInfo& info = step->ranks[r].info;
      size_t k = 1;
      for (const auto* names : {&info.params, &info.state})
        for (const std::string& n : *names) values[r][n] = (*res)[r][k++];
    }
    out.losses.push_back((*res)[0][0][0]);
  }
  for (int r = 0; r < p; ++r)
    for (const std::string& n : step->ranks[r].owned) out.params[n] = values[r].at(n);
  return out;
}

TEST(PipelineClip, EqualsTheSingleDeviceClippedStep) {
  const ClipRun want = singleDevice(kClip), unclipped = singleDevice(std::nullopt);
  ASSERT_EQ(want.losses.size(), static_cast<size_t>(kSteps));
  ASSERT_EQ(unclipped.losses.size(), static_cast<size_t>(kSteps));
  // The clip is active: the clipped run leaves the unclipped one after the first update.
  EXPECT_EQ(want.losses[0], unclipped.losses[0]);
  EXPECT_GT(std::abs(want.losses[2] - unclipped.losses[2]), 1e-4 * std::abs(unclipped.losses[2]));
  struct C {
    ScheduleKind k;
    int p, m;
  };
  for (C c : {C{ScheduleKind::OneFOneB, 2, 4}, C{ScheduleKind::GPipe, 4, 4}}) {
    SCOPED_TRACE(std::string(scheduleKindName(c.k)) + " p=" + std::to_string(c.p));
    ClipRun got = pipelined(c.k, c.p, c.m);
    ASSERT_EQ(got.losses.size(), want.losses.size());
    for (int s = 0; s < kSteps; ++s)
      EXPECT_NEAR(got.losses[s], want.losses[s], 1e-5 * std::abs(want.losses[s])) << "step " << s;
    ASSERT_EQ(got.params.size(), want.params.size());
    for (const auto& [n, w] : want.params) expectClose(got.params.at(n), w, n);
  }
}

}  // namespace
}  // namespace tessera::partition::pipeline
