// Gradient accumulation: K micro-batches of a mean loss give the full-batch step (K = 1) to
// rounding, for SGD and AdamW over two steps; and the cases where a batch cannot be split.
#include <cmath>

#include "TrainingTestUtil.h"

namespace tessera::training_test {
namespace {

using passes::TrainStepOptions;

// A classifier with a mean cross-entropy loss; the reshapes make declared types mention B, so the
// micro-batch copy must rewrite them to B/K.
const char* kClassifier = R"(
module @cls {
  sym B
  param @w : f64[3,4] = dense<f64[3,4], [0.3, -0.2, 0.1, 0.5, -0.4, 0.25, 0.6, -0.1, 0.2, 0.15, -0.35, 0.45]>
  param @b : f64[4] = dense<f64[4], [0.1, -0.2, 0.05, 0.0]>
  func @main(%x: f64[B,3], %y: i64[B], %w: f64[3,4], %b: f64[4]) -> (f64[], f64[B,4]) {
    %h = matmul %x, %w : f64[B,4]
    %z = add %h, %b : f64[B,4]
    %flat = reshape %z : f64[4*B]
    %t = tanh %flat : f64[4*B]
    %back = reshape %t : f64[B,4]
    %loss = cross_entropy %back, %y : f64[]
    %p = softmax %back axis=-1 : f64[B,4]
    return %loss, %p
  }
}
)";

std::map<std::string, ir::Tensor> batch() {
  std::vector<double> x;
  for (int i = 0; i < 24; ++i) x.push_back(std::sin(0.7 * i + 0.3));
  return {{"x", ir::Tensor(ir::DType::F64, {8, 3}, x)},
          {"y", ir::Tensor(ir::DType::I64, {8}, {0, 3, 1, 2, 2, 0, 1, 3})}};
}

struct Trace {
  std::vector<double> losses;
  std::vector<double> w, b;
};

Trace train(TrainStepOptions o, int accum, int steps) {
  o.accum = accum;
  std::unique_ptr<ir::Module> m = parse(kClassifier);
  passes::TrainStepInfo info = build(*m, o);
  Trace t;
  for (int s = 0; s < steps; ++s) t.losses.push_back(runStep(*m, info, batch()));
  t.w = paramValue(*m, "w").data();
  t.b = paramValue(*m, "b").data();
  return t;
}

void expectSame(const Trace& a, const Trace& b) {
  expectNear(a.losses, b.losses, 1e-12, "losses");
  expectNear(a.w, b.w, 1e-12, "w");
  expectNear(a.b, b.b, 1e-12, "b");
}

TEST(Accumulation, TwoMicroBatchesEqualTheFullBatchSgd) {
  TrainStepOptions o;
  o.optimizer.kind = passes::OptimizerKind::Sgd;
  o.optimizer.lr = 0.5;
  o.optimizer.momentum = 0.9;
  Trace full = train(o, 1, 2), two = train(o, 2, 2);
  expectSame(two, full);
  // The parameters did move, so the comparison is not between two untouched copies.
  EXPECT_GT(std::abs(full.w[0] - 0.3), 1e-3);
  EXPECT_LT(full.losses[1], full.losses[0]);
}

TEST(Accumulation, TwoAndFourMicroBatchesEqualTheFullBatchAdamWWithClipping) {
  TrainStepOptions o;
  o.optimizer.lr = 0.05;
  o.clip = 0.1;
  Trace full = train(o, 1, 2);
  expectSame(train(o, 2, 2), full);
  expectSame(train(o, 4, 2), full);
}

TEST(Accumulation, DeclaresTheDivisibilityItNeeds) {
  TrainStepOptions o;
  o.accum = 4;
  std::unique_ptr<ir::Module> m = parse(kClassifier);
  build(*m, o);
  ASSERT_TRUE(m->findSymbol("B"));
  EXPECT_EQ(m->findSymbol("B")->divisibleBy, 4);
  // A batch of 6 is not a multiple of 4: the interpreter says so, naming the symbol.
  std::map<std::string, ir::Tensor> in{
      {"x", ir::Tensor(ir::DType::F64, {6, 3})},
      {"y", ir::Tensor(ir::DType::I64, {6})}};
  StatusOr<ir::InterpretResult> r = ir::interpret(*m->findFunction("train_step"), in);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("not divisible by 4"), std::string::npos)
      << r.status().message();
}

TEST(Accumulation, ConcreteBatchCannotBeSplit) {
  std::string text = kClassifier;
  for (size_t at; (at = text.find("[B,")) != std::string::npos;) text.replace(at, 3, "[8,");
  for (size_t at; (at = text.find("[B]")) != std::string::npos;) text.replace(at, 3, "[8]");
  for (size_t at; (at = text.find("4*B")) != std::string::npos;) text.replace(at, 3, "32");
  std::unique_ptr<ir::Module> m = parse(text);
  ASSERT_TRUE(m);
  TrainStepOptions o;
  o.accum = 2;
  StatusOr<passes::TrainStepInfo> r = passes::buildTrainStep(*m, o);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("%x"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("must be a symbol"), std::string::npos)
      << r.status().message();
  // Nothing was added to the module.
  EXPECT_EQ(m->findFunction("train_step"), nullptr);
  EXPECT_EQ(m->findParam("w.m"), nullptr);
  // Without accumulation the same module trains.
  o.accum = 1;
  EXPECT_TRUE(passes::buildTrainStep(*m, o).isOk());
}

}  // namespace
}  // namespace tessera::training_test
