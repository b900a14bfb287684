// The remat menu's `mlp` entry (RematLayers.h): selective plus each GELU's input, recomputed from
// the stored input of the contraction that produces it. Its recompute set on a hand-built
// two-layer step (one GELU whose GEMM input stays stored, one whose GEMM input would itself be
// dropped), on the zoo GPT, and training on the compiled engine with every menu entry (and a
// mixed plan) bitwise equal to training without remat.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "RematTestUtil.h"
#include "codegen/Engine.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "launcher/TrainLoop.h"
#include "passes/remat/RematApply.h"
#include "passes/remat/RematLayers.h"

namespace tessera::remat_test {
namespace {

using passes::RematChoice;

// Layer 0: m = x * s (trainable scale: the fc weight gradient reads m, so m stays stored),
// z = m @ w1 + b1, g = gelu(z), r0 = x + g @ w2.
// Layer 1: the same, but its fc weight is frozen: nothing in the backward reads m1 (the weight
// needs no gradient, and mul's gradient reads r0 and the scale), so m1 is dropped after the
// forward under any recompute and the GEMM could not be redone from a stored input.
const char* kTwoLayers = R"(
module @two {
  sym B
  param @h0.s : f32[4] = dense<f32[4], [1.0, 0.5, -0.5, 2.0]>
  param @h0.w1 : f32[4,8] = dense<f32[4,8], [0.1, -0.2, 0.3, 0.05, -0.1, 0.2, 0.15, -0.3, 0.25, 0.1, -0.05, 0.2, 0.3, -0.15, 0.1, 0.05, -0.2, 0.3, 0.1, -0.1, 0.2, 0.05, -0.25, 0.15, 0.1, 0.2, -0.3, 0.05, 0.15, -0.1, 0.25, 0.3]>
  param @h0.b1 : f32[8] = dense<f32[8], [0.01, -0.02, 0.03, 0.0, 0.01, 0.02, -0.01, 0.0]>
  param @h0.w2 : f32[8,4] = dense<f32[8,4], [0.2, -0.1, 0.05, 0.3, -0.2, 0.1, 0.15, -0.05, 0.1, 0.25, -0.3, 0.2, 0.05, -0.15, 0.2, 0.1, 0.3, 0.05, -0.1, 0.2, -0.25, 0.1, 0.15, 0.05, 0.1, -0.2, 0.3, 0.15, 0.2, 0.1, -0.05, 0.25]>
  param @h1.s : f32[4] = dense<f32[4], [0.5, 1.0, 1.5, -1.0]>
  param @h1.w1 : f32[4,8] frozen = dense<f32[4,8], [0.1, 0.2, 0.3, 0.05, 0.1, 0.2, 0.15, 0.3, 0.25, 0.1, 0.05, 0.2, 0.3, 0.15, 0.1, 0.05, 0.2, 0.3, 0.1, 0.1, 0.2, 0.05, 0.25, 0.15, 0.1, 0.2, 0.3, 0.05, 0.15, 0.1, 0.25, 0.3]>
  param @h1.b1 : f32[8] = dense<f32[8], [0.0, 0.01, 0.0, -0.01, 0.02, 0.0, 0.01, -0.02]>
  param @h1.w2 : f32[8,4] = dense<f32[8,4], [0.1, 0.1, 0.05, 0.3, 0.2, 0.1, 0.15, 0.05, 0.1, 0.25, 0.3, 0.2, 0.05, 0.15, 0.2, 0.1, 0.3, 0.05, 0.1, 0.2, 0.25, 0.1, 0.15, 0.05, 0.1, 0.2, 0.3, 0.15, 0.2, 0.1, 0.05, 0.25]>
  func @main(%x: f32[B,4], %y: i64[B], %h0.s: f32[4], %h0.w1: f32[4,8], %h0.b1: f32[8], %h0.w2: f32[8,4], %h1.s: f32[4], %h1.w1: f32[4,8], %h1.b1: f32[8], %h1.w2: f32[8,4]) -> f32[] {
    %m0 = mul %x, %h0.s : f32[B,4]
    %fc0 = matmul %m0, %h0.w1 : f32[B,8]
    %z0 = add %fc0, %h0.b1 : f32[B,8]
    %g0 = gelu %z0 : f32[B,8]
    %o0 = matmul %g0, %h0.w2 : f32[B,4]
    %r0 = add %x, %o0 : f32[B,4]
    %m1 = mul %r0, %h1.s : f32[B,4]
    %fc1 = matmul %m1, %h1.w1 : f32[B,8]
    %z1 = add %fc1, %h1.b1 : f32[B,8]
    %g1 = gelu %z1 : f32[B,8]
    %o1 = matmul %g1, %h1.w2 : f32[B,4]
    %r1 = add %r0, %o1 : f32[B,4]
    %loss = cross_entropy %r1, %y : f32[]
    return %loss
  }
}
)";

// The ops of `ids` by kind, for comparing recompute sets with hand-derived ones.
std::multiset<std::string> kinds(const ir::Function& f, const std::vector<int>& ids) {
  std::multiset<std::string> out;
  for (int i : ids) out.insert(f.ops()[i]->mnemonic());
  return out;
}

TEST(RematMlp, RecomputeSetOnAHandBuiltStep) {
  StatusOr<std::unique_ptr<ir::Module>> m = ir::parseModule(kTwoLayers, "two.tir");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  passes::TrainStepOptions o;
  o.optimizer.kind = passes::OptimizerKind::Sgd;
  o.optimizer.lr = 0.1;
  StatusOr<passes::TrainStepInfo> info = passes::buildTrainStep(**m, o);
  ASSERT_TRUE(info.isOk()) << info.status().message();
  const ir::Function& f = *(*m)->findFunction(info->function);
  passes::RematLayers layers = passes::findRematLayers(f);
  ASSERT_EQ(layers.layers.size(), 2u);
  const passes::RematLayer& l0 = layers.layers[0];
  const passes::RematLayer& l1 = layers.layers[1];
  // Selective: the GELU alone (no attention here).
  EXPECT_EQ(kinds(f, l0.selective), (std::multiset<std::string>{"gelu"}));
  EXPECT_EQ(kinds(f, l1.selective), (std::multiset<std::string>{"gelu"}));
  // Mlp, layer 0: the GELU, the bias add and the fc GEMM, which reads the stored m0 and w1.
  ASSERT_EQ(kinds(f, l0.mlp), (std::multiset<std::string>{"matmul", "add", "gelu"}));
  const ir::Op* gelu = nullptr;
  for (int i : l0.mlp)
    if (f.ops()[i]->kind() == ir::OpKind::Gelu) gelu = f.ops()[i].get();
  ASSERT_NE(gelu, nullptr);
  const ir::Op* add = gelu->operand(0)->definingOp();
  ASSERT_EQ(add->kind(), ir::OpKind::Add);
  const ir::Op* fc = add->operand(0)->definingOp();
  ASSERT_EQ(fc->kind(), ir::OpKind::Matmul);
  std::set<const ir::Op*> want{gelu, add, fc}, got;
  for (int i : l0.mlp) got.insert(f.ops()[i].get());
  EXPECT_EQ(got, want);
  // The GEMM's input is the layer's mul (a candidate the backward reads), not recomputed.
  const ir::Op* mul = fc->operand(0)->definingOp();
  ASSERT_EQ(mul->kind(), ir::OpKind::Mul);
  EXPECT_FALSE(got.count(mul));
  // Layer 1: m1 is read by no backward op, so the GEMM has no stored input: only selective's GELU.
  EXPECT_EQ(l1.mlp, l1.selective);
  // Applying the mlp choice keeps the step valid and clones exactly layer 0's three ops (plus
  // layer 1's GELU).
  StatusOr<passes::FunctionCopy> copy = passes::copyFunction(f);
  ASSERT_TRUE(copy.isOk());
  StatusOr<passes::RematApplied> applied = passes::applyRemat(
      *copy->function, layers, {RematChoice::Mlp, RematChoice::Mlp}, nullptr);
  ASSERT_TRUE(applied.isOk()) << applied.status().message();
  std::multiset<std::string> cloned;
  for (const ir::Op* op : applied->clones) cloned.insert(op->mnemonic());
  EXPECT_EQ(cloned, (std::multiset<std::string>{"matmul", "add", "gelu", "gelu"}));
  EXPECT_TRUE(ir::verifyModule(*copy->module).isOk());
}

TEST(RematMlp, ZooGptLayersAddTheFcGemmAndBiasToSelective) {
  Model m = buildModel("gpt", smallGpt(2));
  const ir::Function& f = *m.step();
  passes::RematLayers layers = passes::findRematLayers(f);
  ASSERT_EQ(layers.layers.size(), 2u);
  for (const passes::RematLayer& L : layers.layers) {
    std::multiset<std::string> want = kinds(f, L.selective);
    want.insert("matmul");
    want.insert("add");
    EXPECT_EQ(kinds(f, L.mlp), want) << "layer " << L.index;
    // A subset of the candidates containing selective, smaller than full.
    for (int i : L.selective) EXPECT_NE(std::find(L.mlp.begin(), L.mlp.end(), i), L.mlp.end());
    for (int i : L.mlp)
      EXPECT_NE(std::find(L.candidates.begin(), L.candidates.end(), i), L.candidates.end());
    EXPECT_LT(L.mlp.size(), L.candidates.size());
  }
}

// GPT-small (issue 4's: 4 layers, hidden 256, 4 heads, seq 128, batch 8, vocab 256) on the
// compiled engine, 2 steps: without remat, with every layer at each menu entry, and a mixed plan
// (keep, selective, mlp, full) — losses bitwise equal.
std::vector<double> trainCompiled(Model& m, int steps, int64_t B, int64_t S, int64_t V) {
  launcher::TrainLoopOptions o;
  o.steps = steps;
  o.engine = launcher::TrainLoopOptions::EngineKind::Compiled;
  launcher::DataFn data = [&](int step) -> StatusOr<launcher::StepData> {
    return launcher::StepData{tokens(B, S, V, 700 + step), B * S};
  };
  StatusOr<std::vector<launcher::StepRecord>> r = launcher::runTrainLoop(*m.module, m.info, data, o);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  std::vector<double> losses;
  if (r.isOk())
    for (const auto& s : *r) losses.push_back(s.loss);
  return losses;
}

TEST(RematMlp, GptSmallLossesBitwiseEqualOnTheCompiledEngineForEveryMenuEntry) {
  const std::map<std::string, std::string> gptSmall{
      {"layers", "4"}, {"hidden", "256"}, {"heads", "4"}, {"seq", "128"}, {"vocab", "256"}};
  const int64_t B = 8, S = 128, V = 256;
  const int steps = 2;
  Model plain = buildModel("gpt", gptSmall);
  const std::vector<double> want = trainCompiled(plain, steps, B, S, V);
  ASSERT_EQ(want.size(), static_cast<size_t>(steps));
  std::vector<std::vector<RematChoice>> plans;
  for (RematChoice c : passes::kRematMenu)
    if (c != RematChoice::Keep) plans.emplace_back(4, c);
  plans.push_back({RematChoice::Keep, RematChoice::Selective, RematChoice::Mlp, RematChoice::Full});
  for (const auto& plan : plans) {
    Model m = buildModel("gpt", gptSmall);
    ir::Function& f = *m.step();
    passes::RematLayers layers = passes::findRematLayers(f);
    ASSERT_EQ(layers.layers.size(), 4u);
    StatusOr<passes::RematApplied> a = passes::applyRemat(f, layers, plan, nullptr);
    ASSERT_TRUE(a.isOk()) << a.status().message();
    ASSERT_FALSE(a->clones.empty());
    ASSERT_TRUE(ir::verifyModule(*m.module).isOk());
    std::string name;
    for (RematChoice c : plan) name += passes::rematChoiceLetter(c);
    EXPECT_EQ(trainCompiled(m, steps, B, S, V), want) << "plan " << name;  // the same doubles
  }
}

}  // namespace
}  // namespace tessera::remat_test
