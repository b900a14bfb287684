// The SPMD partitioner on the zoo GPT (one block, vocab 11 so that tp=2 splits it unevenly):
// forward loss and one @train_step (SGD with momentum) equal the single-device interpreter within 1e-5
// relative for dp=2, tp=2 (Megatron: qkv and MLP fc column-parallel, attention and MLP output
// projections row-parallel, vocab-parallel embedding table) and dp=2 x tp=2.
#include <gtest/gtest.h>

#include "frontend/zoo/ZooModels.h"
#include "passes/training/TrainStep.h"
#include "tests/support/SplitMix64.h"
#include "tests/unit/spmd/SpmdTestUtil.h"

namespace tessera {
namespace {

using namespace spmd_test;
using ir::DType;
using ir::Tensor;

constexpr int64_t kVocab = 11, kSeq = 4;

std::unique_ptr<ir::Module> gpt(std::vector<ir::MeshAxis> mesh) {
  frontend::zoo::GptConfig c;
  c.layers = 1;
  c.hidden = 16;
  c.heads = 2;
  c.seq = kSeq;
  c.vocab = kVocab;
  c.ffn = 32;
  auto m = frontend::zoo::buildGpt(c);
  EXPECT_TRUE(m.isOk()) << m.status().message();
  (*m)->meshes.push_back(ir::Mesh::make("m", std::move(mesh)));
  return std::move(*m);
}

std::map<std::string, Tensor> tokens(int64_t batch, uint64_t seed) {
  testing_support::SplitMix64 rng{seed};
  std::vector<double> t, y;
  for (int64_t i = 0; i < batch * kSeq; ++i) t.push_back(static_cast<double>(rng.below(kVocab)));
  for (int64_t i = 0; i < batch * kSeq; ++i) y.push_back(static_cast<double>(rng.below(kVocab)));
  return {{"tokens", Tensor(DType::I64, {batch, kSeq}, t)},
          {"targets", Tensor(DType::I64, {batch, kSeq}, y)}};
}

void dataParallel(ir::Function& f) {
  annotate(f, "tokens", {{"dp"}, {}});
  annotate(f, "targets", {{"dp"}, {}});
}

void megatron(ir::Function& f, const std::vector<std::string>& suffixes) {
  for (const std::string& s : suffixes) {
    annotate(f, "wte" + s, {{"tp"}, {}});
    annotate(f, "h0.attn.qkv.w" + s, {{}, {"tp"}});
    annotate(f, "h0.attn.qkv.b" + s, {{"tp"}});
    annotate(f, "h0.attn.proj.w" + s, {{"tp"}, {}});
    annotate(f, "h0.mlp.fc.w" + s, {{}, {"tp"}});
    annotate(f, "h0.mlp.fc.b" + s, {{"tp"}});
    annotate(f, "h0.mlp.proj.w" + s, {{"tp"}, {}});
  }
}

struct Plan {
  std::vector<ir::MeshAxis> mesh;
  bool dp, tp;
};

class SpmdGpt : public ::testing::TestWithParam<Plan> {};

TEST_P(SpmdGpt, ForwardLossEqualsOneDevice) {
  auto m = gpt(GetParam().mesh);
  ir::Function& f = *m->findFunction("main");
  if (GetParam().dp) dataParallel(f);
  if (GetParam().tp) megatron(f, {""});
  auto p = partitionOf(f);
  ASSERT_TRUE(p);
  if (GetParam().tp) {
    // The vocab-split table: 6 local rows (ceil(11/2)), looked up with a range mask.
    EXPECT_NE(p->text.find("%wte: f32[6,16]"), std::string::npos) << p->text;
    EXPECT_NE(p->text.find("axis_index axes=[tp]"), std::string::npos) << p->text;
  }
  auto in = globalInputs(f, tokens(4, 3));
  auto first = distributed(*p, in);
  expectClose(first, reference(f, in));
  EXPECT_EQ(distributed(*p, in), first);
}

// SGD, not AdamW: Adam divides each gradient by its own magnitude, so the k-projection bias,
// whose gradient is zero in exact arithmetic (softmax is shift-invariant), would turn rounding
// noise into lr-sized updates that differ with any change of summation order. AdamW is covered
// on the MLP (SpmdMlpTest.cpp).
TEST_P(SpmdGpt, SgdTrainStepEqualsOneDevice) {
  auto m = gpt(GetParam().mesh);
  passes::TrainStepOptions o;
  o.optimizer.kind = passes::OptimizerKind::Sgd;
  o.optimizer.lr = 0.1;
  o.optimizer.momentum = 0.9;
  auto info = passes::buildTrainStep(*m, o);
  ASSERT_TRUE(info.isOk()) << info.status().message();
  ir::Function& f = *m->findFunction(info->function);
  if (GetParam().dp) dataParallel(f);
  if (GetParam().tp) megatron(f, {"", ".momentum"});
  auto p = partitionOf(f);
  ASSERT_TRUE(p);
  auto in = globalInputs(f, tokens(4, 5));
  expectClose(distributed(*p, in), reference(f, in));
}

INSTANTIATE_TEST_SUITE_P(Plans, SpmdGpt,
                         ::testing::Values(Plan{{{"dp", 2}}, true, false},
                                           Plan{{{"tp", 2}}, false, true},
                                           Plan{{{"dp", 2}, {"tp", 2}}, true, true}),
                         [](const auto& p) {
                           return std::string(p.param.dp ? "dp2" : "") +
                                  (p.param.dp && p.param.tp ? "x" : "") +
                                  (p.param.tp ? "tp2" : "");
                         });

}  // namespace
}  // namespace tessera
