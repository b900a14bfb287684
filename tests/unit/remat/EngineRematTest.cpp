// remat{mode=auto} planned against the compiled engine's buffer plan (launcher/RematChoice.h):
// the engine model's per-layer changes add up to its curve, auto meets a budget by the engine's
// own memory report, losses on the engine are bitwise those without remat, and a too-small
// budget states the minimum by the engine's numbers.
#include <gtest/gtest.h>

#include <algorithm>

#include "RematTestUtil.h"
#include "codegen/Engine.h"
#include "ir/Verifier.h"
#include "launcher/RematChoice.h"
#include "launcher/TrainLoop.h"
#include "passes/remat/RematApply.h"
#include "passes/remat/RematSolver.h"

namespace tessera::remat_test {
namespace {

using passes::RematChoice;
using passes::RematMode;

const int64_t kB = 2, kS = 32, kVocab = 32;
const std::map<std::string, int64_t> kSyms{{"B", kB}, {"S", kS}};

// The engine's own memory report for the step as the train loop runs it (results aliased).
int64_t enginePeak(const Model& m) {
  codegen::EngineOptions eo;
  eo.kernels = codegen::EngineOptions::Kernels::Evaluate;
  eo.parameters.insert(m.info.params.begin(), m.info.params.end());
  eo.optimizerState.insert(m.info.state.begin(), m.info.state.end());
  StatusOr<std::unique_ptr<codegen::Engine>> e = codegen::Engine::compile(*m.module, m.info.function, eo);
  EXPECT_TRUE(e.isOk()) << e.status().message();
  if (!e.isOk()) return -1;
  std::vector<std::string> carried = m.info.params;
  carried.insert(carried.end(), m.info.state.begin(), m.info.state.end());
  for (size_t i = 0; i < carried.size(); ++i)
    EXPECT_TRUE((*e)->aliasResult(static_cast<int>(i + 1), carried[i]).isOk());
  StatusOr<codegen::MemoryReport> r = (*e)->memoryReport(kSyms);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? r->peakBytes : -1;
}

// The engine model's peak of the step with every layer at `c`.
int64_t uniformPeak(const Model& m, RematChoice c) {
  passes::RematLayers layers = passes::findRematLayers(*m.step());
  StatusOr<passes::FunctionCopy> copy = passes::copyFunction(*m.step());
  std::vector<RematChoice> choices(layers.layers.size(), c);
  EXPECT_TRUE(passes::applyRemat(*copy->function, layers, choices, &kSyms).isOk());
  StatusOr<passes::RematMemoryCurve> r =
      launcher::EngineMemoryModel(m.info).measure(*copy->function, kSyms);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? r->peak : -1;
}

std::vector<double> trainOnEngine(Model& m, int steps) {
  launcher::TrainLoopOptions o;
  o.steps = steps;
  o.engine = launcher::TrainLoopOptions::EngineKind::Compiled;
  o.engineOptions.kernels = codegen::EngineOptions::Kernels::Evaluate;
  launcher::DataFn data = [](int step) -> StatusOr<launcher::StepData> {
    return launcher::StepData{tokens(kB, kS, kVocab, 500 + step), kB * kS};
  };
  StatusOr<std::vector<launcher::StepRecord>> r = launcher::runTrainLoop(*m.module, m.info, data, o);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  std::vector<double> losses;
  if (r.isOk())
    for (const auto& s : *r) losses.push_back(s.loss);
  return losses;
}

TEST(EngineRemat, PerLayerChangesAddUpToTheEngineCurve) {
  // The DP's additivity on the engine model's live curve: every combination of a 2-layer GPT
  // predicted from the per-layer measurements equals the maximum of its measured curve.
  Model m = buildModel("gpt", smallGpt(2));
  const ir::Function& f = *m.step();
  passes::RematLayers layers = passes::findRematLayers(f);
  ASSERT_EQ(layers.layers.size(), 2u);
  launcher::EngineMemoryModel model(m.info);
  StatusOr<passes::RematCosts> costs = passes::measureRematCosts(f, layers, kSyms, model);
  ASSERT_TRUE(costs.isOk()) << costs.status().message();
  for (int code = 0; code < 9; ++code) {
    std::vector<RematChoice> c{passes::kRematMenu[code % 3], passes::kRematMenu[code / 3]};
    StatusOr<passes::FunctionCopy> copy = passes::copyFunction(f);
    ASSERT_TRUE(passes::applyRemat(*copy->function, layers, c, &kSyms).isOk());
    StatusOr<passes::RematMemoryCurve> real = model.measure(*copy->function, kSyms);
    ASSERT_TRUE(real.isOk());
    int64_t curveMax = *std::max_element(real->live.begin(), real->live.end());
    EXPECT_EQ(passes::predictedPeak(*costs, c), curveMax) << "plan " << code;
    EXPECT_LE(curveMax, real->peak);  // the arena's top includes fragmentation
  }
}

TEST(EngineRemat, AutoMeetsTheBudgetByTheEngineReportAndLossesAreBitwiseEqual) {
  Model plain = buildModel("gpt", smallGpt(3));
  const int64_t keep = enginePeak(plain);
  ASSERT_EQ(uniformPeak(plain, RematChoice::Keep), keep);  // the model is the engine's report
  const int64_t full = uniformPeak(plain, RematChoice::Full);
  ASSERT_LT(full, keep);
  const int64_t budget = (keep + full) / 2;

  Model m = buildModel("gpt", smallGpt(3));
  StatusOr<passes::RematOutcome> o =
      launcher::applyRematChoice(*m.module, m.info, RematMode::Auto, budget, kSyms);
  ASSERT_TRUE(o.isOk()) << o.status().message();
  ASSERT_TRUE(ir::verifyModule(*m.module).isOk());
  const int64_t peak = enginePeak(m);
  EXPECT_LE(peak, budget);
  EXPECT_EQ(o->peak, peak);
  EXPECT_GT(o->flops, 0);  // something is recomputed: the budget is below the no-remat peak
  ASSERT_EQ(o->choices.size(), 3u);

  std::vector<double> want = trainOnEngine(plain, 3), got = trainOnEngine(m, 3);
  ASSERT_EQ(want.size(), 3u);
  EXPECT_EQ(got, want);  // bitwise: the same doubles
}

TEST(EngineRemat, TooSmallBudgetStatesTheEngineMinimum) {
  Model m = buildModel("gpt", smallGpt(2));
  const int64_t before = enginePeak(m);
  StatusOr<passes::RematOutcome> o =
      launcher::applyRematChoice(*m.module, m.info, RematMode::Auto, 1000, kSyms);
  ASSERT_FALSE(o.isOk());
  const std::string& msg = o.status().message();
  const std::string head = "minimum feasible planned peak of @train_step is ";
  size_t at = msg.find(head);
  ASSERT_NE(at, std::string::npos) << msg;
  EXPECT_NE(msg.find("budget of 1000 bytes cannot be met"), std::string::npos) << msg;
  EXPECT_NE(msg.find("by the engine's buffer plan"), std::string::npos) << msg;
  const int64_t minimum = std::stoll(msg.substr(at + head.size()));
  EXPECT_EQ(enginePeak(m), before);  // nothing changed
  // No uniform plan goes below the stated minimum's plan set, and the minimum itself is met.
  EXPECT_LE(minimum, uniformPeak(m, RematChoice::Full));
  EXPECT_LE(minimum, uniformPeak(m, RematChoice::Selective));
  ASSERT_TRUE(launcher::applyRematChoice(*m.module, m.info, RematMode::Auto, minimum, kSyms).isOk());
  EXPECT_LE(enginePeak(m), minimum);
}

}  // namespace
}  // namespace tessera::remat_test
