// The planned-memory estimator on small functions whose liveness is worked out by hand, and its
// categories on a real training step.
#include <gtest/gtest.h>

#include <memory>
#include <numeric>

#include "ir/Module.h"
#include "ir/Parser.h"
#include "passes/Pipeline.h"
#include "passes/memory/MemoryPlan.h"

namespace tessera::passes {
namespace {

std::unique_ptr<ir::Module> parse(const std::string& text) {
  StatusOr<std::unique_ptr<ir::Module>> m = ir::parseModule(text, "test.tir");
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? std::move(*m) : nullptr;
}

// x, a, b: 2*4 f32 = 32 bytes each at B=2. Lifetimes: x [0,3] (argument), a [0,1], b [1,2],
// c [2,3], d [3,3] (returned), dead [1,1] (unused: live at its op only) — as hand-worked below.
const char* kChain = R"(
module @chain {
  sym B
  func @f(%x: f32[B,4]) -> f32[B,4] {
    %a = exp %x : f32[B,4]
    %b = neg %a : f32[B,4]
    %c = neg %b : f32[B,4]
    %d = add %c, %x : f32[B,4]
    return %d
  }
}
)";

TEST(MemoryPlan, ChainCurveByHand) {
  auto m = parse(kChain);
  ASSERT_TRUE(m);
  const ir::Function& f = *m->findFunction("f");
  StatusOr<std::vector<int64_t>> curve = liveBytesCurve(f, {{"B", 2}});
  ASSERT_TRUE(curve.isOk()) << curve.status().message();
  // op0 exp: x, a; op1 neg: x, a, b; op2 neg: x, b, c; op3 add: x, c, d.
  EXPECT_EQ(*curve, (std::vector<int64_t>{64, 96, 96, 96}));
  StatusOr<int64_t> peak = plannedPeak(f, {{"B", 2}});
  ASSERT_TRUE(peak.isOk());
  EXPECT_EQ(*peak, 96);
  // At B=5: 5*4*4 = 80 bytes per value.
  EXPECT_EQ(*plannedPeak(f, {{"B", 5}}), 240);
}

TEST(MemoryPlan, UnusedValueLivesAtItsOpAndArgumentsLiveThroughout) {
  auto m = parse(R"(
module @u {
  func @f(%x: f32[8], %w: f64[16]) -> f32[8] {
    %a = exp %x : f32[8]
    %dead = neg %x : f32[8]
    %b = neg %a : f32[8]
    return %b
  }
}
)");
  ASSERT_TRUE(m);
  const ir::Function& f = *m->findFunction("f");
  // x 32 B and w 128 B always; a [0,2]; dead [1,1]; b [2,2].
  StatusOr<MemoryPlan> plan = planMemory(f, {});
  ASSERT_TRUE(plan.isOk());
  EXPECT_EQ(plan->curve, (std::vector<int64_t>{192, 224, 224}));
  EXPECT_EQ(plan->peakBytes, 224);
  EXPECT_EQ(plan->peakOp, 1);  // the first op reaching the peak
  // Not a training step: arguments are "other", op values activations.
  EXPECT_EQ(plan->peakByCategory[static_cast<int>(MemoryCategory::Other)], 160);
  EXPECT_EQ(plan->peakByCategory[static_cast<int>(MemoryCategory::Activations)], 64);
  ASSERT_FALSE(plan->largestAtPeak.empty());
  EXPECT_EQ(plan->largestAtPeak[0].value->name(), "w");
  EXPECT_EQ(plan->largestAtPeak[0].bytes, 128);
}

TEST(MemoryPlan, UnboundSymbolIsAnErrorNamingTheValue) {
  auto m = parse(kChain);
  ASSERT_TRUE(m);
  StatusOr<int64_t> peak = plannedPeak(*m->findFunction("f"), {});
  ASSERT_FALSE(peak.isOk());
  EXPECT_NE(peak.status().message().find("%x"), std::string::npos) << peak.status().message();
  EXPECT_NE(peak.status().message().find("B"), std::string::npos) << peak.status().message();
}

// A linear model trained with AdamW: the categories follow @train_step's structure.
TEST(MemoryPlan, TrainStepCategories) {
  auto m = parse(R"(
module @lin {
  sym B
  param @w : f32[3,4] = dense<f32[3,4], [0.3, -0.2, 0.1, 0.5, -0.4, 0.25, 0.6, -0.1, 0.2, 0.15, -0.35, 0.45]>
  func @main(%x: f32[B,3], %y: i64[B], %w: f32[3,4]) -> f32[] {
    %h = matmul %x, %w : f32[B,4]
    %loss = cross_entropy %h, %y : f32[]
    return %loss
  }
}
)");
  ASSERT_TRUE(m);
  StatusOr<Pipeline> p = Pipeline::parse("train-step{optimizer=adamw}");
  ASSERT_TRUE(p.isOk()) << p.status().message();
  ASSERT_TRUE(p->run(*m).isOk());
  const ir::Function& f = *m->findFunction("train_step");
  std::map<const ir::Value*, MemoryCategory> cats = classifyValues(f);
  int params = 0, state = 0, other = 0;
  for (int i = 0; i < f.numArguments(); ++i) {
    MemoryCategory c = cats.at(f.argument(i));
    const std::string& n = f.argument(i)->name();
    if (n == "w") {
      EXPECT_EQ(c, MemoryCategory::Parameters);
    }
    if (n == "w.m" || n == "w.v" || n == "step") {
      EXPECT_EQ(c, MemoryCategory::OptimizerState) << n;
    }
    if (n == "x" || n == "y") {
      EXPECT_EQ(c, MemoryCategory::Other) << n;
    }
    params += c == MemoryCategory::Parameters;
    state += c == MemoryCategory::OptimizerState;
    other += c == MemoryCategory::Other;
  }
  EXPECT_EQ(params, 1);
  EXPECT_EQ(state, 3);  // w.m, w.v, step
  EXPECT_EQ(other, 2);
  EXPECT_EQ(cats.at(f.results()[1]), MemoryCategory::Parameters);  // w'
  EXPECT_EQ(cats.at(f.results()[2]), MemoryCategory::OptimizerState);
  bool sawGrad = false, sawActivation = false;
  for (const auto& op : f.ops()) {
    const ir::Value* v = op->result(0);
    if (v->name() == "grad_w") {
      EXPECT_EQ(cats.at(v), MemoryCategory::Gradients);
      sawGrad = true;
    }
    if (v->name() == "h") {
      EXPECT_EQ(cats.at(v), MemoryCategory::Activations);
      sawActivation = true;
    }
  }
  EXPECT_TRUE(sawGrad);
  EXPECT_TRUE(sawActivation);
  // The categories at the peak add up to the peak; the parameter and state arguments are in it.
  StatusOr<MemoryPlan> plan = planMemory(f, {{"B", 5}});
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  int64_t sum = std::accumulate(plan->peakByCategory.begin(), plan->peakByCategory.end(),
                                int64_t{0});
  EXPECT_EQ(sum, plan->peakBytes);
  EXPECT_GE(plan->peakByCategory[static_cast<int>(MemoryCategory::Parameters)], 48);
  EXPECT_GE(plan->peakByCategory[static_cast<int>(MemoryCategory::OptimizerState)], 48 + 48 + 8);
}

}  // namespace
}  // namespace tessera::passes
