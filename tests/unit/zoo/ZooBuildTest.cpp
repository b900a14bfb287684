// Every zoo model builds, follows the zoo conventions (frontend/Zoo.h) and verifies; the text
// form round-trips; the named configurations have their published parameter counts and build
// quickly; options are checked with errors naming the flag.
#include <chrono>
#include <cmath>

#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "tests/unit/zoo/ZooTestUtil.h"

namespace tessera::frontend::testing {
namespace {

using ir::DType;
using ir::Dim;

// Small options for the models that materialize weights; named configs take none.
std::map<std::string, std::string> smallOptions(const std::string& name) {
  if (name == "mlp") return {{"in", "8"}, {"hidden", "16"}, {"classes", "4"}};
  if (name == "gpt" || name == "moe-gpt")
    return {{"layers", "2"}, {"hidden", "32"}, {"heads", "2"}, {"seq", "16"}, {"vocab", "64"}};
  return {};
}

TEST(ZooBuild, EveryModelBuildsVerifiesAndFollowsTheConventions) {
  std::vector<ZooModelInfo> models = zooModels();
  ASSERT_GE(models.size(), 3u + 8u + 10u);
  for (const ZooModelInfo& info : models) {
    SCOPED_TRACE(info.name);
    auto m = build(info.name, smallOptions(info.name));
    ASSERT_TRUE(m);
    Status v = ir::verifyModule(*m);
    EXPECT_TRUE(v.isOk()) << v.message();
    ir::Function* f = m->findFunction("main");
    ASSERT_NE(f, nullptr);
    ASSERT_GE(f->results().size(), 1u);
    EXPECT_EQ(f->results()[0]->type(), (ir::TensorType{DType::F32, {}}));
    bool lm = info.name != "mlp";
    EXPECT_EQ(f->argument(0)->name(), lm ? "tokens" : "x");
    EXPECT_EQ(f->argument(1)->name(), lm ? "targets" : "labels");
    if (lm) {
      ir::TensorType tokens{DType::I64, {Dim::symbol("B"), Dim::symbol("S")}};
      EXPECT_EQ(f->argument(0)->type(), tokens);
      EXPECT_EQ(f->argument(1)->type(), tokens);
    }
    // Every other argument is bound to the module parameter of the same name and type.
    EXPECT_EQ(static_cast<size_t>(f->numArguments() - 2), m->params.size());
    for (int i = 2; i < f->numArguments(); ++i) {
      const ir::Parameter* p = m->findParam(f->argument(i)->name());
      ASSERT_NE(p, nullptr) << f->argument(i)->name();
      EXPECT_EQ(p->type, f->argument(i)->type());
      bool small = info.name == "mlp" || info.name == "gpt" || info.name == "moe-gpt";
      EXPECT_EQ(p->init != nullptr, small) << p->name;
    }
  }
}

TEST(ZooBuild, SmallGptTextRoundTrip) {
  auto m = build("gpt", {{"layers", "1"}, {"hidden", "8"}, {"heads", "2"}, {"seq", "8"},
                         {"vocab", "16"}, {"tied", "false"}});
  ASSERT_TRUE(m);
  std::string text = ir::printModule(*m);
  auto parsed = ir::parseModule(text, "gpt.tir");
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message();
  Status v = ir::verifyModule(**parsed);
  EXPECT_TRUE(v.isOk()) << v.message();
  EXPECT_EQ(ir::printModule(**parsed), text);
  // The untied head has its own weight; parameter values survive the round trip.
  const ir::Parameter* head = (*parsed)->findParam("head.w");
  ASSERT_NE(head, nullptr);
  ASSERT_TRUE(head->init);
  EXPECT_EQ(*head->init, *m->findParam("head.w")->init);
}

TEST(ZooBuild, MoeGptTextRoundTrip) {
  auto m = build("moe-gpt", {{"layers", "2"}, {"hidden", "8"}, {"heads", "2"}, {"seq", "8"},
                             {"vocab", "16"}, {"top_k", "2"}, {"z_loss_coef", "0.001"}});
  ASSERT_TRUE(m);
  std::string text = ir::printModule(*m);
  auto parsed = ir::parseModule(text, "moe.tir");
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message();
  EXPECT_EQ(ir::printModule(**parsed), text);
  // Routing groups of 8 tokens need S divisible by 8 (declared, so the reshape verifies).
  const ir::SymbolDecl* s = (*parsed)->findSymbol("S");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->divisibleBy, 8);
  // Block 1 (the 2nd) is the MoE one: expert weights are batched over 4 experts.
  const ir::Parameter* fc = (*parsed)->findParam("h1.moe.fc.w");
  ASSERT_NE(fc, nullptr);
  EXPECT_EQ(fc->type, (ir::TensorType{DType::F32, {4, 8, 32}}));
  EXPECT_EQ((*parsed)->findParam("h0.moe.fc.w"), nullptr);
  EXPECT_NE((*parsed)->findParam("h0.mlp.fc.w"), nullptr);
}

// GPT parameter count by the closed formula: embeddings (V + seq) H, per layer 12 H^2 + 13 H
// (qkv 3H^2+3H, proj H^2+H, fc 4H^2+4H, fc proj 4H^2+H, two LayerNorms 4H), final LN 2H.
int64_t gptFormula(int64_t L, int64_t H, int64_t V, int64_t seq) {
  return (V + seq) * H + L * (12 * H * H + 13 * H) + 2 * H;
}

TEST(ZooBuild, GptParameterCountMatchesTheFormula) {
  auto m = build("gpt", {{"layers", "3"}, {"hidden", "16"}, {"heads", "4"}, {"seq", "8"},
                         {"vocab", "50"}, {"init", "false"}});
  ASSERT_TRUE(m);
  EXPECT_EQ(paramElements(*m), gptFormula(3, 16, 50, 8));
  auto untied = build("gpt", {{"layers", "3"}, {"hidden", "16"}, {"heads", "4"}, {"seq", "8"},
                              {"vocab", "50"}, {"init", "false"}, {"tied", "false"}});
  ASSERT_TRUE(untied);
  EXPECT_EQ(paramElements(*untied), gptFormula(3, 16, 50, 8) + 16 * 50);
  // MoE block: router H*E, experts E (H F + F + F H + H) instead of the MLP's 8H^2 + 5H.
  auto moe = build("moe-gpt", {{"layers", "2"}, {"hidden", "16"}, {"heads", "4"}, {"seq", "8"},
                               {"vocab", "50"}, {"experts", "3"}, {"ffn", "20"},
                               {"init", "false"}});
  ASSERT_TRUE(moe);
  int64_t H = 16, F = 20, E = 3;
  int64_t dense = (50 + 8) * H + 2 * H + 2 * (4 * H * H + 4 * H + 4 * H);  // attention + LNs
  int64_t mlp = H * F + F + F * H + H;
  EXPECT_EQ(paramElements(*moe), dense + mlp + H * E + E * mlp);
}

// Published sizes: GPT-3 (Brown et al. 2020, Table 2.1) and Megatron-LM SC'21 Table 1.
TEST(ZooBuild, NamedConfigsHaveThePublishedSizesAndBuildQuickly) {
  const std::map<std::string, double> published = {
      {"gpt3-125m", 125e6},      {"gpt3-350m", 350e6},       {"gpt3-760m", 760e6},
      {"gpt3-1.3b", 1.3e9},      {"gpt3-2.7b", 2.7e9},       {"gpt3-6.7b", 6.7e9},
      {"gpt3-13b", 13e9},        {"gpt3-175b", 175e9},       {"megatron-1.7b", 1.7e9},
      {"megatron-3.6b", 3.6e9},  {"megatron-7.5b", 7.5e9},   {"megatron-18b", 18e9},
      {"megatron-39b", 39e9},    {"megatron-76b", 76e9},     {"megatron-145b", 145e9},
      {"megatron-310b", 310e9},  {"megatron-530b", 530e9},   {"megatron-1t", 1e12}};
  auto start = std::chrono::steady_clock::now();
  for (const auto& [name, size] : published) {
    auto m = build(name);
    ASSERT_TRUE(m) << name;
    double n = static_cast<double>(paramElements(*m));
    // Megatron calls 1.65e9 "1.7B": their published sizes are rounded up to 3%.
    EXPECT_NEAR(n / size, 1.0, 0.035) << name << " has " << n << " parameters";
    for (const ir::Parameter& p : m->params) EXPECT_FALSE(p.init) << name << " " << p.name;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10.0);  // graphs only: a few hundredths of a second each
}

TEST(ZooBuild, NamedConfigShapes) {
  auto m = build("megatron-1t");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->findParam("wte")->type, (ir::TensorType{DType::F32, {51200, 25600}}));
  EXPECT_EQ(m->findParam("wpe")->type, (ir::TensorType{DType::F32, {2048, 25600}}));
  EXPECT_NE(m->findParam("h127.mlp.fc.w"), nullptr);
  EXPECT_EQ(m->findParam("h128.mlp.fc.w"), nullptr);
  // Overrides make a quick variant of a named shape.
  auto small = build("gpt3-175b", {{"layers", "2"}});
  ASSERT_TRUE(small);
  EXPECT_NE(m->findParam("h1.attn.qkv.w"), nullptr);
  EXPECT_EQ(small->findParam("h1.attn.qkv.w")->type,
            (ir::TensorType{DType::F32, {12288, 3 * 12288}}));
  EXPECT_EQ(small->findParam("h2.attn.qkv.w"), nullptr);
}

std::string errorOf(const std::string& name, const std::map<std::string, std::string>& o) {
  auto m = buildZooModel(name, o);
  return m.isOk() ? "" : m.status().message();
}

TEST(ZooBuild, OptionErrorsNameTheFlag) {
  EXPECT_EQ(errorOf("gpt", {{"layers", "x"}}),
            "error: --layers: expected an integer in [1, 1024], got 'x'");
  EXPECT_EQ(errorOf("gpt", {{"layers", "0"}}),
            "error: --layers: expected an integer in [1, 1024], got '0'");
  EXPECT_EQ(errorOf("gpt", {{"heads", "3"}}), "error: --heads: 3 heads do not divide --hidden=64");
  EXPECT_EQ(errorOf("gpt", {{"tied", "yes"}}), "error: --tied: expected true or false, got 'yes'");
  EXPECT_NE(errorOf("gpt", {{"expert", "4"}}).find("--expert: unknown option for model 'gpt'"),
            std::string::npos);
  EXPECT_NE(errorOf("gpt3-125m", {{"seed", "1"}}).find("--seed: unknown option"),
            std::string::npos);
  EXPECT_NE(errorOf("moe-gpt", {{"top_k", "3"}}).find("--top_k: expected an integer in [1, 2]"),
            std::string::npos);
  EXPECT_NE(errorOf("moe-gpt", {{"capacity_factor", "abc"}}).find("--capacity_factor:"),
            std::string::npos);
  EXPECT_NE(errorOf("moe-gpt", {{"group_size", "5"}}).find("--group_size: 5 must divide --seq=64"),
            std::string::npos);
  EXPECT_NE(errorOf("moe-gpt", {{"experts", "1"}, {"top_k", "2"}}).find("--top_k: 2 exceeds"),
            std::string::npos);
  EXPECT_NE(errorOf("gpt", {{"hidden", "8192"}, {"heads", "64"}}).find("--init: the model has"),
            std::string::npos);
  EXPECT_NE(errorOf("bert", {}).find("unknown zoo model 'bert' (models: mlp, gpt, moe-gpt"),
            std::string::npos);
}

}  // namespace
}  // namespace tessera::frontend::testing
