// Bad input to the training-step construction, and the `train-step` pass with pipeline options.
#include "ir/Printer.h"
#include "passes/Pipeline.h"
#include "TrainingTestUtil.h"

namespace tessera::training_test {
namespace {

using passes::TrainStepOptions;

const char* kSmall = R"(
module @small {
  param @w : f32[2] = dense<f32[2], [1.0, -2.0]>
  param @c : f32[2] frozen = dense<f32[2], [0.5, 0.5]>
  func @main(%w: f32[2], %c: f32[2]) -> (f32[]) {
    %p = mul %w, %c : f32[2]
    %q = mul %p, %w : f32[2]
    %loss = reduce_sum %q axes=[0] : f32[]
    return %loss
  }
}
)";

std::string errorOf(const std::string& text, const TrainStepOptions& o) {
  std::unique_ptr<ir::Module> m = parse(text);
  if (!m) return "<parse failed>";
  StatusOr<passes::TrainStepInfo> r = passes::buildTrainStep(*m, o);
  return r.isOk() ? "<no error>" : r.status().message();
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(TrainStepErrors, LossMustBeAScalar) {
  std::string text = R"(
module @m {
  param @w : f32[2] = dense<f32[2], [1.0, -2.0]>
  func @main(%w: f32[2]) -> (f32[2]) {
    %sq = mul %w, %w : f32[2]
    return %sq
  }
}
)";
  std::string e = errorOf(text, TrainStepOptions{});
  EXPECT_TRUE(contains(e, "test.tir:5:")) << e;  // located at the op computing it
  EXPECT_TRUE(contains(e, "%sq")) << e;
  EXPECT_TRUE(contains(e, "f32[2]")) << e;
  EXPECT_TRUE(contains(e, "must be a float scalar")) << e;
}

TEST(TrainStepErrors, NoTrainableParameters) {
  std::string text = kSmall;
  text.replace(text.find("@w : f32[2]"), 11, "@w : f32[2] frozen");
  std::string e = errorOf(text, TrainStepOptions{});
  EXPECT_TRUE(contains(e, "no trainable parameters")) << e;
}

TEST(TrainStepErrors, OptionsAreValidatedLikeTorch) {
  TrainStepOptions o;
  o.optimizer.kind = passes::OptimizerKind::Sgd;
  EXPECT_TRUE(contains(errorOf(kSmall, o), "SGD needs a learning rate"));
  o.optimizer.lr = 0.1;
  o.optimizer.nesterov = true;
  EXPECT_TRUE(contains(errorOf(kSmall, o), "Nesterov"));
  o.optimizer.nesterov = false;
  o.optimizer.momentum = -1;
  EXPECT_TRUE(contains(errorOf(kSmall, o), "momentum"));
  TrainStepOptions a;
  a.optimizer.beta2 = 1.0;
  EXPECT_TRUE(contains(errorOf(kSmall, a), "beta2"));
  a.optimizer.beta2 = 0.999;
  a.accum = 0;
  EXPECT_TRUE(contains(errorOf(kSmall, a), "accum"));
  a.accum = 1;
  a.clip = 0.0;
  EXPECT_TRUE(contains(errorOf(kSmall, a), "clip"));
  // Flag spelling for the CLI.
  a.clip.reset();
  a.optimizer.weightDecay = -1;
  Status st = passes::validate(a, passes::OptionNames::Flags);
  EXPECT_TRUE(contains(st.message(), "--weight-decay")) << st.message();
}

TEST(TrainStepErrors, BuildingTwiceIsAnErrorAndLeavesTheModuleAlone) {
  std::unique_ptr<ir::Module> m = parse(kSmall);
  ASSERT_TRUE(passes::buildTrainStep(*m, TrainStepOptions{}).isOk());
  std::string before = ir::printModule(*m);
  StatusOr<passes::TrainStepInfo> again = passes::buildTrainStep(*m, TrainStepOptions{});
  ASSERT_FALSE(again.isOk());
  EXPECT_TRUE(contains(again.status().message(), "already has a function @train_step"));
  EXPECT_EQ(ir::printModule(*m), before);
}

TEST(TrainStepErrors, FrozenParametersAreBatchArgumentsNotTrained) {
  std::unique_ptr<ir::Module> m = parse(kSmall);
  passes::TrainStepInfo info = build(*m, TrainStepOptions{});
  EXPECT_EQ(info.batchArgs, std::vector<std::string>({"c"}));
  EXPECT_EQ(info.params, std::vector<std::string>({"w"}));
  // SGD lr 0.5 on loss = sum(c w^2): w' = w - 0.5 * 2 c w = w * (1 - c) = w / 2.
  std::unique_ptr<ir::Module> s = parse(kSmall);
  TrainStepOptions o;
  o.optimizer.kind = passes::OptimizerKind::Sgd;
  o.optimizer.lr = 0.5;
  passes::TrainStepInfo si = build(*s, o);
  EXPECT_DOUBLE_EQ(runStep(*s, si), 2.5);  // 0.5 * (1 + 4)
  expectNear(paramValue(*s, "w").data(), {0.5, -1.0}, 0, "w");
  expectNear(paramValue(*s, "c").data(), {0.5, 0.5}, 0, "c (frozen)");
}

TEST(TrainStepPass, PipelineOptionsReachThePass) {
  StatusOr<passes::Pipeline> p =
      passes::Pipeline::parse("verify, train-step{optimizer=sgd, lr=0.5, momentum=0.9}, dce");
  ASSERT_TRUE(p.isOk()) << p.status().message();
  EXPECT_EQ(p->names(), std::vector<std::string>({"verify", "train-step", "dce"}));
  std::unique_ptr<ir::Module> m = parse(kSmall);
  StatusOr<bool> changed = p->run(*m);
  ASSERT_TRUE(changed.isOk()) << changed.status().message();
  EXPECT_TRUE(*changed);
  ASSERT_TRUE(m->findFunction("train_step"));
  EXPECT_TRUE(m->findParam("w.momentum"));
  EXPECT_FALSE(m->findParam("w.m"));
  // lr=0.5 reached the optimizer: one step halves w (see above).
  passes::TrainStepInfo info{"train_step", {"c"}, {"w"}, {"w.momentum", "step"}};
  runStep(*m, info);
  expectNear(paramValue(*m, "w").data(), {0.5, -1.0}, 0, "w");
}

TEST(TrainStepPass, DefaultsAreAdamW) {
  StatusOr<passes::Pipeline> p = passes::Pipeline::parse("train-step");
  ASSERT_TRUE(p.isOk());
  std::unique_ptr<ir::Module> m = parse(kSmall);
  ASSERT_TRUE(p->run(*m).isOk());
  EXPECT_TRUE(m->findParam("w.m") && m->findParam("w.v") && m->findParam("step"));
}

TEST(TrainStepPass, BadPipelineOptions) {
  auto err = [](const std::string& spec) {
    StatusOr<passes::Pipeline> p = passes::Pipeline::parse(spec);
    return p.isOk() ? std::string("<no error>") : p.status().message();
  };
  EXPECT_TRUE(contains(err("train-step{lr=abc}"), "expected a number"));
  EXPECT_TRUE(contains(err("train-step{bogus=1}"), "unknown option 'bogus'"));
  EXPECT_TRUE(contains(err("train-step{optimizer=adam}"), "unknown optimizer 'adam'"));
  EXPECT_TRUE(contains(err("train-step{lr}"), "expected key=value"));
  EXPECT_TRUE(contains(err("dce{x=1}"), "unknown option 'x' for pass 'dce'"));
  EXPECT_TRUE(contains(err("train-step{lr=1"), "unclosed '{'"));
  EXPECT_TRUE(contains(err("dce}"), "unmatched '}'"));
  EXPECT_TRUE(contains(err("train-step{lr=1}x"), "text after '}'"));
  EXPECT_TRUE(contains(err("dce,,cse"), "empty pass name"));
  // Options are validated when the pass runs (a pass sees them one at a time).
  StatusOr<passes::Pipeline> p = passes::Pipeline::parse("train-step{optimizer=sgd}");
  ASSERT_TRUE(p.isOk());
  std::unique_ptr<ir::Module> m = parse(kSmall);
  StatusOr<bool> r = p->run(*m);
  ASSERT_FALSE(r.isOk());
  EXPECT_TRUE(contains(r.status().message(), "SGD needs a learning rate"));
  EXPECT_TRUE(contains(r.status().message(), "train-step"));
}

}  // namespace
}  // namespace tessera::training_test
