// The zoo GPT and MoE-GPT training steps, 20 steps on the compiled engine against the reference
// interpreter through the launcher's step loop (the same batches, the same initial weights): the
// losses agree within 1e-4 relative, and the trained weights come back into the module. Also the
// memory report against the runtime's measured peak.
#include <random>

#include "frontend/Zoo.h"
#include "launcher/TrainLoop.h"
#include "passes/training/TrainStep.h"
#include "tests/unit/engine/EngineTestUtil.h"

namespace tessera::codegen::testing {
namespace {

struct Built {
  std::unique_ptr<ir::Module> m;
  passes::TrainStepInfo info;
};

Built build(const std::string& model, std::map<std::string, std::string> opts) {
  Built b;
  auto m = frontend::buildZooModel(model, opts);
  EXPECT_TRUE(m.isOk()) << m.status().message();
  if (!m.isOk()) return b;
  b.m = std::move(*m);
  passes::TrainStepOptions ts;
  ts.optimizer.lr = 1e-2;
  auto info = passes::buildTrainStep(*b.m, ts);
  EXPECT_TRUE(info.isOk()) << info.status().message();
  if (info.isOk()) b.info = *info;
  return b;
}

// The same random batch every step (so the loss must fall).
launcher::DataFn tokens(int64_t batch, int64_t seq, int64_t vocab) {
  return [=](int) -> StatusOr<launcher::StepData> {
    launcher::StepData d;
    d.inputs["tokens"] = randomTensor(ir::DType::I64, {batch, seq}, 100, 0, vocab);
    d.inputs["targets"] = randomTensor(ir::DType::I64, {batch, seq}, 200, 0, vocab);
    d.tokens = batch * seq;
    return d;
  };
}

void compareLosses(const std::string& model, std::map<std::string, std::string> opts,
                   codegen::EngineOptions::Kernels kernels) {
  Built ref = build(model, opts), cmp = build(model, opts);
  ASSERT_TRUE(ref.m && cmp.m);
  launcher::TrainLoopOptions lo;
  lo.steps = 20;
  auto r1 = launcher::runTrainLoop(*ref.m, ref.info, tokens(2, 16, 64), lo);
  ASSERT_TRUE(r1.isOk()) << r1.status().message();
  lo.engine = launcher::TrainLoopOptions::EngineKind::Compiled;
  lo.engineOptions.kernels = kernels;
  lo.engineOptions.threads = 2;
  auto r2 = launcher::runTrainLoop(*cmp.m, cmp.info, tokens(2, 16, 64), lo);
  ASSERT_TRUE(r2.isOk()) << r2.status().message();
  ASSERT_EQ(r1->size(), r2->size());
  for (size_t i = 0; i < r1->size(); ++i)
    EXPECT_NEAR((*r2)[i].loss, (*r1)[i].loss, 1e-4 * std::fabs((*r1)[i].loss)) << "step " << i + 1;
  EXPECT_LT(r1->back().loss, r1->front().loss);  // it trains
  // The trained parameters came back into the module. (Adam divides by sqrt(v): where a
  // gradient is nearly zero, rounding-level differences move a weight by up to ~lr per step, so
  // the weights agree to 1e-3 absolute while the losses agree to 1e-4 relative.)
  for (const std::string& p : ref.info.params) {
    const ir::Parameter* a = ref.m->findParam(p);
    const ir::Parameter* b = cmp.m->findParam(p);
    ASSERT_TRUE(a && b && a->init && b->init);
    EXPECT_TRUE(close(*b->init, *a->init, 1e-3, 1e-3)) << p;
  }
}

TEST(TrainStep, GptMatchesInterpreterFor20Steps) {
  compareLosses("gpt", {{"layers", "2"}, {"hidden", "32"}, {"heads", "2"}, {"seq", "16"},
                        {"vocab", "64"}},
                EngineOptions::Kernels::Compile);
}

TEST(TrainStep, MoeGptMatchesInterpreterFor20Steps) {
  compareLosses("moe-gpt", {{"layers", "2"}, {"hidden", "32"}, {"heads", "2"}, {"seq", "16"},
                            {"vocab", "64"}, {"experts", "2"}, {"group_size", "8"}},
                EngineOptions::Kernels::Compile);
}

TEST(TrainStep, MemoryReportAgreesWithMeasuredPeak) {
  Built b = build("gpt", {{"layers", "2"}, {"hidden", "32"}, {"heads", "2"}, {"seq", "16"},
                          {"vocab", "64"}});
  ASSERT_TRUE(b.m);
  EngineOptions o = evalOptions();
  o.parameters.insert(b.info.params.begin(), b.info.params.end());
  o.optimizerState.insert(b.info.state.begin(), b.info.state.end());
  auto e = Engine::compile(*b.m, b.info.function, o);
  ASSERT_TRUE(e.isOk()) << e.status().message();
  for (size_t i = 0; i < b.info.params.size(); ++i)
    ASSERT_TRUE((*e)->aliasResult(static_cast<int>(i + 1), b.info.params[i]).isOk());
  for (size_t j = 0; j < b.info.state.size(); ++j)
    ASSERT_TRUE((*e)->aliasResult(static_cast<int>(1 + b.info.params.size() + j),
                                  b.info.state[j]).isOk());
  auto data = tokens(2, 16, 64)(1);
  auto syms = (*e)->symbolsFor(data->inputs);
  ASSERT_TRUE(syms.isOk()) << syms.status().message();
  EXPECT_EQ(*syms, (std::map<std::string, int64_t>{{"B", 2}, {"S", 16}}));
  auto rep = (*e)->memoryReport(*syms);
  ASSERT_TRUE(rep.isOk()) << rep.status().message();
  ASSERT_TRUE((*e)->run(data->inputs).isOk());
  double planned = static_cast<double>(rep->peakBytes);
  double measured = static_cast<double>((*e)->measuredPeakBytes());
  EXPECT_NEAR(measured, planned, 0.05 * planned) << rep->str();
  // Parameter bytes, computed independently from the module.
  int64_t paramBytes = 0;
  for (const std::string& p : b.info.params) paramBytes += b.m->findParam(p)->init->numElements() * 4;
  EXPECT_EQ(rep->bytesByCategory[static_cast<int>(MemCategory::Parameter)], paramBytes)
      << rep->str();
  // AdamW keeps two moments per parameter, plus the i64 step.
  EXPECT_EQ(rep->bytesByCategory[static_cast<int>(MemCategory::OptimizerState)], 2 * paramBytes + 8)
      << rep->str();
  // Every optimizer update was planned in place: nothing is copied back after the run.
  std::string text = rep->str();
  EXPECT_NE(text.find("largest live tensors at the peak"), std::string::npos);
  EXPECT_NE(text.find("parameters"), std::string::npos);
}

}  // namespace
}  // namespace tessera::codegen::testing
