// The zoo's gpt and moe-gpt run on the interpreter: with GPT-2 initialization the loss is close
// to log(vocab); the causal mask hides the future (a changed token leaves every earlier
// position's loss bit-identical); the initial values follow the documented scheme and seed; the
// mlp runs too.
#include <cmath>

#include "ir/Interpreter.h"
#include "ir/interp/Philox.h"
#include "tests/unit/zoo/ZooTestUtil.h"

namespace tessera::frontend::testing {
namespace {

using ir::DType;
using ir::Tensor;

const std::map<std::string, std::string> kSmall = {
    {"layers", "2"}, {"hidden", "32"}, {"heads", "2"}, {"seq", "16"}, {"vocab", "64"}};

std::map<std::string, std::string> with(std::map<std::string, std::string> o,
                                        const std::map<std::string, std::string>& more) {
  for (const auto& [k, v] : more) o[k] = v;
  return o;
}

// Makes the token cross-entropy per position an extra result (after the loss).
void addPerTokenLoss(ir::Module& m) {
  ir::Function* f = m.findFunction("main");
  ir::Op* ce = nullptr;
  for (const auto& op : f->ops())
    if (op->kind() == ir::OpKind::CrossEntropy) ce = op.get();
  ASSERT_NE(ce, nullptr);
  auto perTok = f->addOp(ir::OpSpec{
      ir::OpKind::CrossEntropy,
      {ce->operand(0), ce->operand(1)},
      {{"reduction", ir::makeEnum(ir::kLossReductionEnum, ir::LossReduction::None)}},
      {},
      {}});
  ASSERT_TRUE(perTok.isOk()) << perTok.status().message();
  f->setResults({f->results()[0], (*perTok)->result()});
}

void expectLossNearLogVocab(const std::string& model, const std::map<std::string, std::string>& o) {
  auto m = build(model, o);
  ASSERT_TRUE(m);
  addPerTokenLoss(*m);
  std::map<std::string, Tensor> in{{"tokens", tokenBatch(2, 8, 64, 1)},
                                   {"targets", tokenBatch(2, 8, 64, 2)}};
  auto r = ir::interpret(*m->findFunction("main"), in);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->symbols.at("B"), 2);
  EXPECT_EQ(r->symbols.at("S"), 8);
  double loss = r->outputs[0][0];
  ASSERT_TRUE(std::isfinite(loss));
  // Logits have std about sqrt(32) * 0.02 at init: nearly uniform over the 64 tokens.
  EXPECT_NEAR(loss, std::log(64.0), 0.1);
  double sum = 0;
  for (double l : r->outputs[1].data()) sum += l;
  double lmLoss = sum / 16;
  if (model == "gpt") {
    EXPECT_NEAR(loss, lmLoss, 1e-5);
  } else {
    // The Switch loss alpha*E*sum(f_i P_i) is at most alpha*E; at init P_i ~ 1/E, so it is ~ alpha.
    EXPECT_GT(loss - lmLoss, 0.005);
    EXPECT_LT(loss - lmLoss, 0.04);
  }
}

TEST(GptZoo, LossNearLogVocabAtInit) { expectLossNearLogVocab("gpt", kSmall); }

TEST(GptZoo, UntiedLossNearLogVocabAtInit) {
  expectLossNearLogVocab("gpt", with(kSmall, {{"tied", "false"}}));
}

TEST(GptZoo, MoeLossNearLogVocabAtInit) {
  expectLossNearLogVocab("moe-gpt", with(kSmall, {{"top_k", "2"}}));
}

// Changing token p of a sequence must leave the losses of positions < p unchanged, bit for bit,
// and change the loss at p.
void expectCausal(const std::string& model, const std::map<std::string, std::string>& o) {
  auto m = build(model, o);
  ASSERT_TRUE(m);
  addPerTokenLoss(*m);
  std::map<std::string, Tensor> in{{"tokens", tokenBatch(2, 8, 64, 3)},
                                   {"targets", tokenBatch(2, 8, 64, 4)}};
  auto before = ir::interpret(*m->findFunction("main"), in);
  ASSERT_TRUE(before.isOk()) << before.status().message();
  std::vector<double> t = in.at("tokens").data();
  t[6] = std::fmod(t[6] + 1, 64);      // sequence 0, position 6
  t[8 + 2] = std::fmod(t[10] + 7, 64);  // sequence 1, position 2
  in.insert_or_assign("tokens", Tensor(DType::I64, {2, 8}, t));
  auto after = ir::interpret(*m->findFunction("main"), in);
  ASSERT_TRUE(after.isOk()) << after.status().message();
  const Tensor& l0 = before->outputs[1];
  const Tensor& l1 = after->outputs[1];
  for (int p = 0; p < 6; ++p) EXPECT_EQ(l0[p], l1[p]) << "sequence 0, position " << p;
  EXPECT_NE(l0[6], l1[6]);
  for (int p = 0; p < 2; ++p) EXPECT_EQ(l0[8 + p], l1[8 + p]) << "sequence 1, position " << p;
  EXPECT_NE(l0[8 + 2], l1[8 + 2]);
}

TEST(GptZoo, CausalMaskHidesTheFuture) { expectCausal("gpt", kSmall); }

// With top-1 routing and groups within a sequence, a token's expert slot depends only on the
// tokens before it, so the MoE model is causal too.
TEST(GptZoo, MoeTop1IsCausal) { expectCausal("moe-gpt", with(kSmall, {{"moe_every", "1"}})); }

double stddev(const Tensor& t) {
  double s = 0, s2 = 0;
  for (double v : t.data()) s += v, s2 += v * v;
  double n = static_cast<double>(t.numElements());
  return std::sqrt(s2 / n - (s / n) * (s / n));
}

TEST(GptZoo, InitFollowsGpt2AndTheSeed) {
  auto m = build("gpt", kSmall);
  ASSERT_TRUE(m);
  auto init = [&](const std::string& name) -> const Tensor& { return *m->findParam(name)->init; };
  // wte is parameter 0, wpe parameter 1: seeds seed + (j << 32) (GraphBuilder.h).
  EXPECT_EQ(init("wte")[5], ir::randomNormalElement(0, 5, DType::F32, 0, 0.02));
  EXPECT_EQ(init("wpe")[7], ir::randomNormalElement(uint64_t{1} << 32, 7, DType::F32, 0, 0.02));
  EXPECT_NEAR(stddev(init("wte")), 0.02, 0.002);              // 2048 draws
  EXPECT_NEAR(stddev(init("h0.attn.qkv.w")), 0.02, 0.0015);   // 3072 draws
  EXPECT_NEAR(stddev(init("h1.mlp.fc.w")), 0.02, 0.0015);     // 4096 draws
  EXPECT_NEAR(stddev(init("h0.attn.proj.w")), 0.01, 0.001);   // 0.02 / sqrt(2 * 2 layers)
  EXPECT_NEAR(stddev(init("h1.mlp.proj.w")), 0.01, 0.0008);
  for (const char* zero : {"h0.attn.qkv.b", "h1.mlp.proj.b", "lnf.bias", "h0.ln1.bias"})
    for (double v : init(zero).data()) EXPECT_EQ(v, 0.0) << zero;
  for (const char* one : {"lnf.scale", "h1.ln2.scale"})
    for (double v : init(one).data()) EXPECT_EQ(v, 1.0) << one;

  auto same = build("gpt", kSmall);
  auto other = build("gpt", with(kSmall, {{"seed", "1"}}));
  ASSERT_TRUE(same && other);
  EXPECT_EQ(*same->findParam("h1.mlp.fc.w")->init, init("h1.mlp.fc.w"));
  EXPECT_NE(*other->findParam("h1.mlp.fc.w")->init, init("h1.mlp.fc.w"));
}

TEST(GptZoo, MlpRuns) {
  auto m = build("mlp", {{"in", "4"}, {"hidden", "16"}, {"classes", "3"}, {"layers", "2"}});
  ASSERT_TRUE(m);
  std::vector<double> x;
  for (int i = 0; i < 5 * 4; ++i) x.push_back(std::sin(i * 0.7));
  std::map<std::string, Tensor> in{{"x", Tensor(DType::F32, {5, 4}, x)},
                                   {"labels", Tensor(DType::I64, {5}, {0, 1, 2, 1, 0})}};
  auto r = ir::interpret(*m->findFunction("main"), in);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  double loss = r->outputs[0][0];
  ASSERT_TRUE(std::isfinite(loss));
  // LeCun-normal layers give logits of order 1: the loss is near log(3) but not equal to it.
  EXPECT_GT(loss, 0.3);
  EXPECT_LT(loss, 3.0);
  EXPECT_NE(loss, std::log(3.0));
}

}  // namespace
}  // namespace tessera::frontend::testing
