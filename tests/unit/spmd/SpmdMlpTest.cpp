// The SPMD partitioner on the zoo MLP and on hand-written modules with uneven dims: the loss and,
// for @train_step, the updated parameters and optimizer state equal the single-device
// interpreter within 1e-5 relative for dp=2, tp=2 (Megatron: first layer split on its output
// dim, second on its input dim) and dp=2 x tp=2; the local program has the collectives the
// resharding table predicts; a run is bitwise repeatable.
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

std::unique_ptr<ir::Module> mlp(std::vector<ir::MeshAxis> mesh) {
  frontend::zoo::MlpConfig c;
  c.in = 6;
  c.hidden = 8;
  c.classes = 5;
  c.layers = 2;
  auto m = frontend::zoo::buildMlp(c);
  EXPECT_TRUE(m.isOk()) << m.status().message();
  (*m)->meshes.push_back(ir::Mesh::make("m", std::move(mesh)));
  return std::move(*m);
}

std::map<std::string, Tensor> mlpBatch(int64_t batch, uint64_t seed = 7) {
  testing_support::SplitMix64 rng{seed};
  std::vector<double> x, y;
  for (int64_t i = 0; i < batch * 6; ++i) x.push_back(rng.uniform(-1, 1));
  for (int64_t i = 0; i < batch; ++i) y.push_back(static_cast<double>(rng.below(5)));
  return {{"x", Tensor(DType::F32, {batch, 6}, x)}, {"labels", Tensor(DType::I64, {batch}, y)}};
}

void dataParallel(ir::Function& f) {
  annotate(f, "x", {{"dp"}, {}});
  annotate(f, "labels", {{"dp"}});
}

// Megatron MLP: l0 column-parallel (output dim and bias on tp), l1 row-parallel (input dim).
void megatron(ir::Function& f, bool withState) {
  for (std::string suffix : withState ? std::vector<std::string>{"", ".m", ".v"}
                                      : std::vector<std::string>{""}) {
    annotate(f, "l0.w" + suffix, {{}, {"tp"}});
    annotate(f, "l0.b" + suffix, {{"tp"}});
    annotate(f, "l1.w" + suffix, {{"tp"}, {}});
  }
}

TEST(SpmdMlp, DataParallelLossEqualsOneDevice) {
  auto m = mlp({{"dp", 2}});
  ir::Function& f = *m->findFunction("main");
  dataParallel(f);
  auto p = partitionOf(f);
  ASSERT_TRUE(p);
  // Local batch B/2; the mean loss is a local sum over the global count, made whole by one
  // all_reduce over dp at the return.
  EXPECT_NE(p->text.find("%x: f32[B/2,6]"), std::string::npos) << p->text;
  EXPECT_NE(p->text.find("cross_entropy"), std::string::npos) << p->text;
  EXPECT_NE(p->text.find("all_reduce"), std::string::npos) << p->text;
  auto in = globalInputs(f, mlpBatch(8));
  expectClose(distributed(*p, in), reference(f, in));
}

TEST(SpmdMlp, MegatronTensorParallelLossEqualsOneDevice) {
  auto m = mlp({{"tp", 2}});
  ir::Function& f = *m->findFunction("main");
  megatron(f, false);
  auto p = partitionOf(f);
  ASSERT_TRUE(p);
  // Column-parallel first layer: local weight [6, 4]; the row-parallel matmul's partial sum is
  // resolved once, before the replicated bias is added.
  EXPECT_NE(p->text.find("%l0.w: f32[6,4]"), std::string::npos) << p->text;
  EXPECT_NE(p->text.find("%l1.w: f32[4,8]"), std::string::npos) << p->text;
  EXPECT_NE(p->text.find("all_reduce"), std::string::npos) << p->text;
  EXPECT_EQ(p->text.find("all_gather"), std::string::npos) << p->text;
  auto in = globalInputs(f, mlpBatch(6));
  expectClose(distributed(*p, in), reference(f, in));
}

TEST(SpmdMlp, TwoByTwoLossEqualsOneDeviceAndIsBitwiseRepeatable) {
  auto m = mlp({{"dp", 2}, {"tp", 2}});
  ir::Function& f = *m->findFunction("main");
  dataParallel(f);
  megatron(f, false);
  auto p = partitionOf(f);
  ASSERT_TRUE(p);
  auto in = globalInputs(f, mlpBatch(8));
  auto first = distributed(*p, in);
  expectClose(first, reference(f, in));
  EXPECT_EQ(distributed(*p, in), first);
}

class SpmdMlpTrain : public ::testing::TestWithParam<passes::OptimizerKind> {};

TEST_P(SpmdMlpTrain, TwoByTwoTrainStepEqualsOneDeviceForTwoSteps) {
  auto m = mlp({{"dp", 2}, {"tp", 2}});
  passes::TrainStepOptions o;
  o.optimizer.kind = GetParam();
  o.optimizer.lr = 0.1;
  auto info = passes::buildTrainStep(*m, o);
  ASSERT_TRUE(info.isOk()) << info.status().message();
  ir::Function& f = *m->findFunction(info->function);
  dataParallel(f);
  megatron(f, GetParam() == passes::OptimizerKind::AdamW);
  auto p = partitionOf(f);
  ASSERT_TRUE(p);
  // Two steps, feeding each side's updated parameters and state into its next step.
  auto ref = globalInputs(f, mlpBatch(8));
  auto dist = ref;
  for (int step = 0; step < 2; ++step) {
    auto batch = mlpBatch(8, 100 + step);
    for (int i = 0; i < 2; ++i) ref[i] = dist[i] = batch.at(f.argument(i)->name());
    auto want = reference(f, ref);
    auto got = distributed(*p, dist);
    ASSERT_EQ(got.size(), want.size());
    expectClose(got, want);
    // The outputs after the loss are the new parameters and state, in argument order.
    for (size_t k = 1; k < want.size(); ++k) {
      ref[1 + k] = want[k];
      dist[1 + k] = got[k];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Optimizers, SpmdMlpTrain,
                         ::testing::Values(passes::OptimizerKind::Sgd, passes::OptimizerKind::AdamW),
                         [](const auto& p) { return std::string(passes::optimizerName(p.param)); });

// Uneven everywhere: a batch of 5 over dp=2 and a hidden dim of 7 over tp=2. Padded rows must
// not reach the mean loss, the mean, the max or the contraction over the hidden dim.
const char* kUneven = R"(
module @uneven {
  mesh @m = <dp=2, tp=2>
  func @main(%x: f32[5,6] {dp, -}, %y: i64[5] {dp}, %w: f32[6,7] {-, tp}, %v: f32[7,3] {tp, -}) -> (f32[], f32[], f32[], f32[5,3]) {
    %h = matmul %x, %w : f32[5,7]
    %a = tanh %h : f32[5,7]
    %e = exp %a : f32[5,7]
    %z = matmul %a, %v : f32[5,3]
    %loss = cross_entropy %z, %y : f32[]
    %mean = reduce_mean %e axes=[0,1] : f32[]
    %max = reduce_max %e axes=[0,1] : f32[]
    return %loss, %mean, %max, %z
  }
}
)";

std::vector<Tensor> unevenInputs() {
  testing_support::SplitMix64 rng{11};
  auto fill = [&](std::vector<int64_t> shape) {
    std::vector<double> v;
    for (int64_t i = 0; i < ir::numElementsOf(shape); ++i) v.push_back(rng.uniform(-1, 1));
    return Tensor(DType::F32, shape, v);
  };
  return {fill({5, 6}), Tensor(DType::I64, {5}, {2, 0, 1, 2, 1}), fill({6, 7}), fill({7, 3})};
}

TEST(SpmdMlp, UnevenBatchAndHiddenGiveTheOneDeviceResults) {
  auto m = parse(kUneven);
  ASSERT_TRUE(m);
  const ir::Function& f = *m->findFunction("main");
  auto p = partitionOf(f);
  ASSERT_TRUE(p);
  EXPECT_NE(p->text.find("%x: f32[3,6]"), std::string::npos) << p->text;
  EXPECT_NE(p->text.find("%w: f32[6,4]"), std::string::npos) << p->text;
  auto in = unevenInputs();
  auto want = reference(f, in);
  ASSERT_EQ(want.size(), 4u);
  expectClose(distributed(*p, in), want);
}

}  // namespace
}  // namespace tessera
