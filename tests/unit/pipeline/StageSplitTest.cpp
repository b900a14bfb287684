// Stage partitioning (partition/pipeline/StageSplit.h) on the zoo GPT: where the cuts fall
// (balanced or given), what crosses them, that the chained stage functions compute exactly the
// forward's loss, and the errors for bad cuts.
#include <gtest/gtest.h>

#include "ir/Interpreter.h"
#include "ir/Printer.h"
#include "partition/pipeline/StageBackward.h"
#include "partition/pipeline/StageSplit.h"
#include "tests/unit/pipeline/PipelineTestUtil.h"
#include "tests/unit/spmd/SpmdTestUtil.h"

namespace tessera::partition::pipeline {
namespace {

using namespace pipeline_test;
using ir::Tensor;

StatusOr<StagePlan> split(const ir::Module& m, int stages, std::vector<std::string> cuts = {}) {
  SplitOptions o;
  o.stages = stages;
  o.cuts = std::move(cuts);
  return splitStages(*m.findFunction("main"), o);
}

// Runs the stages one after the other on `batch`, passing each stage's outputs to the next.
double chainedLoss(const StagePlan& plan, const std::map<std::string, Tensor>& batch) {
  std::vector<Tensor> carry;
  for (const Stage& st : plan.stages) {
    std::vector<Tensor> args = carry;
    for (const std::string& n : st.args) {
      if (auto it = batch.find(n); it != batch.end()) args.push_back(it->second);
      else args.push_back(*plan.module->findParam(n)->init);
    }
    auto r = ir::interpret(*plan.module->findFunction(st.function), args);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    if (!r.isOk()) return 0;
    carry = r->outputs;
  }
  return carry.at(0)[0];
}

TEST(StageSplit, BalancedSplitOfEqualLayers) {
  auto m = tinyGpt(4);
  auto plan = split(*m, 2);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  // Four equal layers, the head (8x11 logits) cheaper than a layer: two layers per stage.
  ASSERT_EQ(plan->cuts, std::vector<std::string>{"h1.out"});
  const Stage& s0 = plan->stages[0];
  const Stage& s1 = plan->stages[1];
  EXPECT_EQ(s0.firstLayer, 0);
  EXPECT_EQ(s0.endLayer, 2);
  EXPECT_EQ(s1.firstLayer, 2);
  EXPECT_EQ(s1.endLayer, 4);
  EXPECT_TRUE(s0.inputs.empty());
  EXPECT_EQ(s0.outputs, std::vector<std::string>{"h1.out"});
  EXPECT_EQ(s1.inputs, std::vector<std::string>{"h1.out"});
  // The tied embedding is used by both stages; tokens only by the first, targets only by the last.
  auto has = [](const Stage& s, const std::string& n) {
    return std::find(s.args.begin(), s.args.end(), n) != s.args.end();
  };
  EXPECT_TRUE(has(s0, "wte") && has(s1, "wte"));
  EXPECT_TRUE(has(s0, "tokens") && !has(s1, "tokens"));
  EXPECT_TRUE(has(s1, "targets") && !has(s0, "targets"));
  EXPECT_TRUE(has(s0, "h1.mlp.fc.w") && !has(s1, "h1.mlp.fc.w"));
  EXPECT_TRUE(has(s1, "h2.mlp.fc.w") && !has(s0, "h2.mlp.fc.w"));
  // The causal mask depends on no argument: recomputed in stage 1 rather than sent.
  std::string text = ir::printModule(*plan->module);
  size_t stage1 = text.find("func @stage1(");
  ASSERT_NE(stage1, std::string::npos) << text;
  EXPECT_NE(text.find("%causal = compare", stage1), std::string::npos) << text;
  EXPECT_NE(text.find("func @stage1(%h1.out: f32[B,S,8]"), std::string::npos) << text;
}

TEST(StageSplit, ChainedStagesComputeTheForwardExactly) {
  auto m = tinyGpt(4);
  auto batch = tokens(3, 7);
  std::map<std::string, Tensor> in = batch;
  auto ref = ir::interpret(*m->findFunction("main"), in);
  ASSERT_TRUE(ref.isOk()) << ref.status().message();
  for (int stages : {1, 2, 3, 4}) {
    auto plan = split(*m, stages);
    ASSERT_TRUE(plan.isOk()) << plan.status().message();
    // The same ops in the same order: bitwise the same loss.
    EXPECT_EQ(chainedLoss(*plan, batch), ref->outputs[0][0]) << stages << " stages";
  }
}

TEST(StageSplit, GivenCutsByLayerOrByValue) {
  auto m = tinyGpt(4);
  auto byLayer = split(*m, 3, {"1", "3"});
  ASSERT_TRUE(byLayer.isOk()) << byLayer.status().message();
  EXPECT_EQ(byLayer->cuts, (std::vector<std::string>{"h0.out", "h2.out"}));
  EXPECT_EQ(byLayer->stages[1].firstLayer, 1);
  EXPECT_EQ(byLayer->stages[1].endLayer, 3);
  EXPECT_EQ(byLayer->stages[1].inputs, std::vector<std::string>{"h0.out"});
  EXPECT_EQ(byLayer->stages[1].outputs, std::vector<std::string>{"h2.out"});
  auto byName = split(*m, 3, {"%h0.out", "h2.out"});
  ASSERT_TRUE(byName.isOk()) << byName.status().message();
  EXPECT_EQ(ir::printModule(*byName->module), ir::printModule(*byLayer->module));
  // The embedding alone as a stage: a cut at %embed is a clean boundary too.
  auto embed = split(*m, 2, {"embed"});
  ASSERT_TRUE(embed.isOk()) << embed.status().message();
  EXPECT_EQ(embed->stages[1].inputs, std::vector<std::string>{"embed"});
  EXPECT_EQ(chainedLoss(*embed, tokens(2, 3)), chainedLoss(*byLayer, tokens(2, 3)));
}

TEST(StageSplit, BadSplitsAreErrors) {
  auto m = tinyGpt(4);
  auto msg = [&](int stages, std::vector<std::string> cuts) {
    auto p = split(*m, stages, std::move(cuts));
    return p.isOk() ? std::string("ok") : p.status().message();
  };
  EXPECT_NE(msg(5, {}).find("more stages (5) than layers (4)"), std::string::npos) << msg(5, {});
  EXPECT_NE(msg(3, {"2"}).find("3 stages need 2 cuts, got 1"), std::string::npos);
  EXPECT_NE(msg(2, {"4"}).find("a stage can start at layers 1..3"), std::string::npos);
  EXPECT_NE(msg(3, {"3", "1"}).find("does not come after the previous cut"), std::string::npos);
  EXPECT_NE(msg(2, {"%nope"}).find("computes no value %nope"), std::string::npos);

  // A cut inside layer 1, after its attention output projection but before the residual add:
  // the residual stream %h0.out would have to cross as well.
  ir::Function& f = *m->findFunction("main");
  ir::Value* h0 = nullptr;
  for (const auto& op : f.ops())
    if (op->numResults() && op->result()->name() == "h0.out") h0 = op->result();
  ASSERT_TRUE(h0);
  ir::Value* branch = nullptr;
  for (const ir::Use& u : h0->uses())
    if (u.user && u.user->kind() == ir::OpKind::Add) branch = u.user->operand(1 - u.index);
  ASSERT_TRUE(branch);
  branch->setName("h1.attn.out");
  std::string e = msg(2, {"%h1.attn.out"});
  EXPECT_NE(e.find("pipeline cut 0 at %h1.attn.out would cut the residual %h0.out (f32[B,S,8])"),
            std::string::npos)
      << e;

  // A model without layer boundaries.
  auto plain = tinyGpt(1);
  for (const auto& op : plain->findFunction("main")->ops())
    for (int r = 0; r < op->numResults(); ++r)
      if (op->result(r)->name() == "h0.out") op->result(r)->setName("");
  auto none = split(*plain, 1);
  ASSERT_FALSE(none.isOk());
  EXPECT_NE(none.status().message().find("no layer boundaries"), std::string::npos);
}

TEST(StageSplit, BackwardFunctionsTakeTheGradientOfTheOutputs) {
  auto m = tinyGpt(2);
  auto plan = split(*m, 2);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  ASSERT_TRUE(addStageBackward(*plan).isOk());
  const Stage& s0 = plan->stages[0];
  EXPECT_EQ(s0.backward, "stage0_bwd");
  const ir::Function* b0 = plan->module->findFunction("stage0_bwd");
  ASSERT_TRUE(b0);
  // (args..., d_h0.out) -> (surrogate, grads of the trained parameters); no boundary input.
  EXPECT_EQ(b0->numArguments(), static_cast<int>(s0.args.size()) + 1);
  EXPECT_EQ(b0->argument(b0->numArguments() - 1)->name(), "d_h0.out");
  EXPECT_EQ(b0->results().size(), 1 + s0.trained.size());
  const ir::Function* b1 = plan->module->findFunction("stage1_bwd");
  // (h0.out, args...) -> (loss, d h0.out, grads...)
  EXPECT_EQ(b1->numArguments(), 1 + static_cast<int>(plan->stages[1].args.size()));
  EXPECT_EQ(b1->results().size(), 2 + plan->stages[1].trained.size());
}

// A stage function is an ordinary function: the SPMD partitioner splits it further on the stage's
// own (sub-)mesh. Here the last stage of a 2-stage GPT, data-parallel over dp=2 (its boundary
// input and its targets split on the batch), equals the single-device stage.
TEST(StageSplit, AStageIsPartitionedFurtherBySpmd) {
  auto m = tinyGpt(2);
  auto plan = split(*m, 2);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  plan->module->meshes.push_back(ir::Mesh::make("m", {{"dp", 2}}));
  ir::Function& f = *plan->module->findFunction("stage1");
  spmd_test::annotate(f, "h0.out", {{"dp"}, {}, {}});
  spmd_test::annotate(f, "targets", {{"dp"}, {}});
  auto p = spmd_test::partitionOf(f);
  ASSERT_TRUE(p);
  // The boundary activation arrives already split: each rank holds half the batch.
  EXPECT_NE(p->text.find("%h0.out: f32[B/2,S,8]"), std::string::npos) << p->text;
  // Inputs: the activation stage 0 would send, computed by running stage 0.
  auto batch = tokens(4, 5);
  std::vector<Tensor> s0in;
  for (const std::string& n : plan->stages[0].args)
    s0in.push_back(batch.count(n) ? batch.at(n) : *plan->module->findParam(n)->init);
  auto act = ir::interpret(*plan->module->findFunction("stage0"), s0in);
  ASSERT_TRUE(act.isOk()) << act.status().message();
  auto in = spmd_test::globalInputs(f, {{"h0.out", act->outputs[0]}, {"targets", batch.at("targets")}});
  spmd_test::expectClose(spmd_test::distributed(*p, in), spmd_test::reference(f, in));
}

}  // namespace
}  // namespace tessera::partition::pipeline
