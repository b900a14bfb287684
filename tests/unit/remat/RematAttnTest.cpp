// The remat menu's `attn` and `attn+mlp` entries (RematLayers.h): selective plus the attention's
// q, k, v and the qkv projection they are cut from, recomputed by the projection GEMM from its
// stored input (attn+mlp: and mlp's GELU inputs). Their recompute sets on a hand-built two-layer
// attention step (one layer whose projection input stays stored, one whose input would itself be
// dropped) and on the zoo GPT, the recomputed FLOPs by hand, the DP against brute force over the
// six-entry menu, and training on the compiled engine with a plan mixing them bitwise equal to
// training without remat.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "RematTestUtil.h"
#include "codegen/Engine.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "launcher/TrainLoop.h"
#include "passes/remat/RematApply.h"
#include "passes/remat/RematLayers.h"
#include "passes/remat/RematSolver.h"

namespace tessera::remat_test {
namespace {

using passes::RematChoice;

// A dense literal of the given shape with deterministic values in [-0.3, 0.3].
std::string dense(const std::string& shape, int n, uint64_t seed) {
  testing_support::SplitMix64 rng{seed};
  std::ostringstream s;
  s << "dense<f32[" << shape << "], [";
  for (int i = 0; i < n; ++i)
    s << (i ? ", " : "") << (static_cast<double>(rng.below(61)) - 30.0) / 100.0;
  s << "]>";
  return s.str();
}

// One attention layer l on x [2,3,4] (B 2, S 3, hidden 4, 2 heads of 2): m = x * s (a trainable
// scale, so the projection's weight gradient reads m and m stays stored), qkv = m @ w + b, q/k/v
// = slices of the last dim, split into heads (reshape, transpose), probs = softmax(q . k),
// ctx = probs . v, merged back, r = x + ctx. Layer 1's projection weight is frozen: no backward
// op reads m1 (the weight needs no gradient; mul's gradient reads r0 and the scale), so m1 is
// dropped after the forward and the projection could not be redone from a stored input.
std::string attentionLayer(int l, const std::string& in) {
  std::ostringstream s;
  const std::string p = "%h" + std::to_string(l) + ".", v = std::to_string(l);
  s << "    %m" << v << " = mul " << in << ", " << p << "s : f32[2,3,4]\n"
    << "    %p" << v << " = matmul %m" << v << ", " << p << "w : f32[2,3,12]\n"
    << "    %qkv" << v << " = add %p" << v << ", " << p << "b : f32[2,3,12]\n";
  const char* part[3] = {"q", "k", "v"};
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::string(part[i]) + v;
    s << "    %" << n << "s = slice %qkv" << v << " start=[0,0," << 4 * i << "] limit=[2,3,"
      << 4 * (i + 1) << "] : f32[2,3,4]\n"
      << "    %" << n << "r = reshape %" << n << "s : f32[2,3,2,2]\n"
      << "    %" << n << " = transpose %" << n << "r perm=[0,2,1,3] : f32[2,2,3,2]\n";
  }
  s << "    %sc" << v << " = dot %q" << v << ", %k" << v
    << " lhs_batch=[0,1] rhs_batch=[0,1] lhs_contract=[3] rhs_contract=[3] : f32[2,2,3,3]\n"
    << "    %pr" << v << " = softmax %sc" << v << " axis=-1 : f32[2,2,3,3]\n"
    << "    %ctx" << v << " = dot %pr" << v << ", %v" << v
    << " lhs_batch=[0,1] rhs_batch=[0,1] lhs_contract=[3] rhs_contract=[2] : f32[2,2,3,2]\n"
    << "    %ct" << v << " = transpose %ctx" << v << " perm=[0,2,1,3] : f32[2,3,2,2]\n"
    << "    %mg" << v << " = reshape %ct" << v << " : f32[2,3,4]\n"
    << "    %r" << v << " = add " << in << ", %mg" << v << " : f32[2,3,4]\n";
  return s.str();
}

std::string twoAttentionLayers() {
  std::ostringstream s;
  s << "module @attn {\n";
  for (int l = 0; l < 2; ++l) {
    const std::string p = "  param @h" + std::to_string(l) + ".";
    s << p << "s : f32[4] = " << dense("4", 4, 10 + l) << "\n"
      << p << "w : f32[4,12]" << (l == 1 ? " frozen" : "") << " = " << dense("4,12", 48, 20 + l)
      << "\n"
      << p << "b : f32[12] = " << dense("12", 12, 30 + l) << "\n";
  }
  s << "  func @main(%x: f32[2,3,4], %y: i64[6], %h0.s: f32[4], %h0.w: f32[4,12], "
       "%h0.b: f32[12], %h1.s: f32[4], %h1.w: f32[4,12], %h1.b: f32[12]) -> f32[] {\n"
    << attentionLayer(0, "%x") << attentionLayer(1, "%r0")
    << "    %flat = reshape %r1 : f32[6,4]\n"
    << "    %loss = cross_entropy %flat, %y : f32[]\n"
    << "    return %loss\n  }\n}\n";
  return s.str();
}

std::multiset<std::string> kinds(const ir::Function& f, const std::vector<int>& ids) {
  std::multiset<std::string> out;
  for (int i : ids) out.insert(f.ops()[i]->mnemonic());
  return out;
}

std::multiset<std::string> plus(std::multiset<std::string> a, const std::multiset<std::string>& b) {
  a.insert(b.begin(), b.end());
  return a;
}

// The projection and head split attn adds to selective: one GEMM, its bias add, and per q, k, v
// a slice, a reshape and a transpose.
const std::multiset<std::string> kQkv{"matmul", "add", "slice", "slice", "slice", "reshape",
                                      "reshape", "reshape", "transpose", "transpose", "transpose"};

TEST(RematAttn, RecomputeSetOnAHandBuiltStep) {
  StatusOr<std::unique_ptr<ir::Module>> m = ir::parseModule(twoAttentionLayers(), "attn.tir");
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
  // Selective: the score contraction and the softmax.
  const std::multiset<std::string> sel{"dot", "softmax"};
  EXPECT_EQ(kinds(f, l0.selective), sel);
  EXPECT_EQ(kinds(f, l1.selective), sel);
  ASSERT_EQ(kinds(f, l0.attn), plus(sel, kQkv));
  // By identity: the ops from the two dots' q, k, v operands back to the projection GEMM.
  std::set<const ir::Op*> got, want;
  for (int i : l0.attn) got.insert(f.ops()[i].get());
  const ir::Op* softmax = nullptr;
  for (int i : l0.selective)
    if (f.ops()[i]->kind() == ir::OpKind::Softmax) softmax = f.ops()[i].get();
  ASSERT_NE(softmax, nullptr);
  const ir::Op* scores = softmax->operand(0)->definingOp();
  const ir::Op* ctx = nullptr;  // the forward dot reading the probabilities (not a backward one)
  for (int i : l0.ops)
    if (f.ops()[i]->kind() == ir::OpKind::Dot && f.ops()[i]->operand(0) == softmax->result(0))
      ctx = f.ops()[i].get();
  ASSERT_NE(ctx, nullptr);
  want.insert(softmax);
  want.insert(scores);
  const ir::Op* bias = nullptr;
  for (const ir::Value* head : {scores->operand(0), scores->operand(1), ctx->operand(1)}) {
    const ir::Op* t = head->definingOp();
    ASSERT_EQ(t->kind(), ir::OpKind::Transpose);
    const ir::Op* r = t->operand(0)->definingOp();
    ASSERT_EQ(r->kind(), ir::OpKind::Reshape);
    const ir::Op* s = r->operand(0)->definingOp();
    ASSERT_EQ(s->kind(), ir::OpKind::Slice);
    bias = s->operand(0)->definingOp();
    want.insert({t, r, s, bias});
  }
  ASSERT_EQ(bias->kind(), ir::OpKind::Add);
  const ir::Op* gemm = bias->operand(0)->definingOp();
  ASSERT_EQ(gemm->kind(), ir::OpKind::Matmul);
  want.insert(gemm);
  EXPECT_EQ(got, want);
  // Not recomputed: the projection input m0 (stored), the context dot and the head merge.
  EXPECT_EQ(gemm->operand(0)->definingOp()->kind(), ir::OpKind::Mul);
  EXPECT_FALSE(got.count(gemm->operand(0)->definingOp()));
  EXPECT_FALSE(got.count(ctx));
  // No GELU: attn+mlp is attn, mlp is selective.
  EXPECT_EQ(l0.attnMlp, l0.attn);
  EXPECT_EQ(l0.mlp, l0.selective);
  // Layer 1: m1 is read by no backward op, so the projection has no stored input.
  EXPECT_EQ(l1.attn, l1.selective);
  EXPECT_EQ(l1.attnMlp, l1.selective);

  // Applied: the step stays valid, clones exactly layer 0's attn set and layer 1's selective set
  // (every one of them is read by the backward or by another clone), and computes the same
  // loss and updated parameters bitwise on the reference interpreter.
  StatusOr<passes::FunctionCopy> copy = passes::copyFunction(f);
  ASSERT_TRUE(copy.isOk());
  StatusOr<passes::RematApplied> applied = passes::applyRemat(
      *copy->function, layers, {RematChoice::Attn, RematChoice::Attn}, nullptr);
  ASSERT_TRUE(applied.isOk()) << applied.status().message();
  std::multiset<std::string> cloned;
  for (const ir::Op* op : applied->clones) cloned.insert(op->mnemonic());
  EXPECT_EQ(cloned, plus(plus(sel, kQkv), sel));
  ASSERT_TRUE(ir::verifyModule(*copy->module).isOk());
  std::vector<double> xs, ys;
  testing_support::SplitMix64 rng{77};
  for (int i = 0; i < 24; ++i) xs.push_back((static_cast<double>(rng.below(201)) - 100.0) / 50.0);
  for (int i = 0; i < 6; ++i) ys.push_back(static_cast<double>(rng.below(4)));
  const std::map<std::string, ir::Tensor> data{{"x", ir::Tensor(ir::DType::F32, {2, 3, 4}, xs)},
                                               {"y", ir::Tensor(ir::DType::I64, {6}, ys)}};
  StatusOr<ir::InterpretResult> a = ir::interpret(f, data);
  StatusOr<ir::InterpretResult> b = ir::interpret(*copy->function, data);
  ASSERT_TRUE(a.isOk()) << a.status().message();
  ASSERT_TRUE(b.isOk()) << b.status().message();
  ASSERT_EQ(a->outputs.size(), b->outputs.size());
  for (size_t i = 0; i < a->outputs.size(); ++i)
    EXPECT_EQ(a->outputs[i].data(), b->outputs[i].data()) << "output " << i;
}

TEST(RematAttn, ZooGptLayersAddTheQkvProjectionToSelective) {
  Model m = buildModel("gpt", smallGpt(2));
  const ir::Function& f = *m.step();
  passes::RematLayers layers = passes::findRematLayers(f);
  ASSERT_EQ(layers.layers.size(), 2u);
  for (const passes::RematLayer& L : layers.layers) {
    const std::multiset<std::string> sel = kinds(f, L.selective);
    EXPECT_EQ(kinds(f, L.attn), plus(sel, kQkv)) << "layer " << L.index;
    // attn+mlp: attn plus mlp's GEMM and bias add.
    EXPECT_EQ(kinds(f, L.attnMlp), plus(plus(sel, kQkv), {"matmul", "add"})) << "layer " << L.index;
    std::set<int> both(L.attn.begin(), L.attn.end());
    both.insert(L.mlp.begin(), L.mlp.end());
    EXPECT_EQ(std::vector<int>(both.begin(), both.end()), L.attnMlp) << "layer " << L.index;
    EXPECT_LT(L.attnMlp.size(), L.candidates.size());
  }
  // Recomputed FLOPs (B 2, S 32, hidden 16; RecomputeCost.h counts 2 per multiply-add, one per
  // result element otherwise): attn adds per layer the projection 2*B*S*H*3H, its bias add
  // B*S*3H, and per q, k, v a slice, a reshape and a transpose of B*S*H elements each.
  const int64_t B = 2, S = 32, H = 16;
  const std::map<std::string, int64_t> syms{{"B", B}, {"S", S}};
  auto flops = [&](RematChoice c) {
    StatusOr<passes::FunctionCopy> copy = passes::copyFunction(f);
    EXPECT_TRUE(copy.isOk());
    StatusOr<passes::RematApplied> a =
        passes::applyRemat(*copy->function, layers, {c, c}, &syms);
    EXPECT_TRUE(a.isOk()) << a.status().message();
    return a.isOk() ? a->flops : -1;
  };
  const int64_t perLayer = 2 * B * S * H * 3 * H + B * S * 3 * H + 9 * B * S * H;
  EXPECT_EQ(flops(RematChoice::Attn) - flops(RematChoice::Selective), 2 * perLayer);
  EXPECT_EQ(flops(RematChoice::AttnMlp) - flops(RematChoice::Mlp), 2 * perLayer);
}

// The exact DP over the six-entry menu against every plan, on random chains where each entry
// changes its own anchor and every later one (as RecomputeCostTest's, with attn and attn+mlp
// filled in): the same least time, within the budget.
TEST(RematAttn, DpEqualsBruteForceOverTheSixEntryMenu) {
  testing_support::SplitMix64 rng{2026};
  auto next = [&](int64_t n) { return static_cast<int64_t>(rng.below(static_cast<uint64_t>(n))); };
  int solved = 0, withAttn = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const int L = 4;
    passes::RematCosts c;
    c.base.assign(L + 1, 0);
    for (int t = 0; t <= L; ++t) c.base[t] = 200 + next(100);
    c.layers.resize(L);
    for (int l = 0; l < L; ++l)
      for (RematChoice ch : passes::kRematMenu) {
        if (ch == RematChoice::Keep) continue;
        auto& e = c.layers[l][static_cast<int>(ch)];
        const int k = static_cast<int>(ch);  // 1 s, 2 f, 3 m, 4 a, 5 b: freed bytes and cost grow
        const int64_t freed[6] = {0, 10, 80, 30, 30, 55};
        const int64_t f = freed[k] + next(20);
        e.delta.emplace_back(l, -f + next(10));
        for (int t = l + 1; t <= L; ++t) e.delta.emplace_back(t, -f);
        const int64_t cost[6] = {0, 20, 150, 60, 50, 100};
        e.nanos = cost[k] + next(60);
        e.flops = 10 * cost[k] + next(100);
      }
    const int64_t budget = 120 + next(180);
    std::optional<std::pair<int64_t, int64_t>> best;
    const int n = passes::kRematMenuSize;
    int plans = 1;
    for (int l = 0; l < L; ++l) plans *= n;
    for (int code = 0; code < plans; ++code) {
      std::vector<RematChoice> ch;
      int64_t nanos = 0, fl = 0;
      for (int l = 0, x = code; l < L; ++l, x /= n) {
        ch.push_back(passes::kRematMenu[x % n]);
        nanos += c.layers[l][static_cast<int>(ch.back())].nanos;
        fl += c.layers[l][static_cast<int>(ch.back())].flops;
      }
      if (passes::predictedPeak(c, ch) > budget) continue;
      if (!best || std::make_pair(nanos, fl) < *best) best = std::make_pair(nanos, fl);
    }
    std::optional<passes::RematSolution> s = passes::solveMinRecompute(c, budget);
    ASSERT_EQ(s.has_value(), best.has_value()) << "trial " << trial;
    if (!s) continue;
    EXPECT_EQ(std::make_pair(s->nanos, s->flops), *best) << "trial " << trial;
    EXPECT_LE(passes::predictedPeak(c, s->choices), budget);
    EXPECT_EQ(passes::predictedPeak(c, s->choices), s->peak);
    ++solved;
    for (RematChoice x : s->choices)
      withAttn += x == RematChoice::Attn || x == RematChoice::AttnMlp;
  }
  EXPECT_GT(solved, 10);
  EXPECT_GT(withAttn, 0);  // the new entries were the best choice somewhere
}

// GPT-small (issue 4's) on the compiled engine, 2 steps: a plan mixing the new entries with the
// older ones (RematMlpTest runs every entry on all layers) — losses bitwise equal to no remat.
TEST(RematAttn, GptSmallMixedPlanLossesBitwiseEqualOnTheCompiledEngine) {
  const std::map<std::string, std::string> gptSmall{
      {"layers", "4"}, {"hidden", "256"}, {"heads", "4"}, {"seq", "128"}, {"vocab", "256"}};
  const int64_t B = 8, S = 128, V = 256;
  auto run = [&](Model& m) {
    launcher::TrainLoopOptions o;
    o.steps = 2;
    o.engine = launcher::TrainLoopOptions::EngineKind::Compiled;
    launcher::DataFn data = [&](int step) -> StatusOr<launcher::StepData> {
      return launcher::StepData{tokens(B, S, V, 900 + step), B * S};
    };
    StatusOr<std::vector<launcher::StepRecord>> r =
        launcher::runTrainLoop(*m.module, m.info, data, o);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    std::vector<double> losses;
    if (r.isOk())
      for (const auto& s : *r) losses.push_back(s.loss);
    return losses;
  };
  Model plain = buildModel("gpt", gptSmall);
  const std::vector<double> want = run(plain);
  ASSERT_EQ(want.size(), 2u);
  Model m = buildModel("gpt", gptSmall);
  ir::Function& f = *m.step();
  passes::RematLayers layers = passes::findRematLayers(f);
  ASSERT_EQ(layers.layers.size(), 4u);
  StatusOr<passes::RematApplied> a = passes::applyRemat(
      f, layers, {RematChoice::Attn, RematChoice::AttnMlp, RematChoice::Mlp, RematChoice::Attn},
      nullptr);
  ASSERT_TRUE(a.isOk()) << a.status().message();
  ASSERT_TRUE(ir::verifyModule(*m.module).isOk());
  EXPECT_EQ(run(m), want);  // the same doubles
}

}  // namespace
}  // namespace tessera::remat_test
