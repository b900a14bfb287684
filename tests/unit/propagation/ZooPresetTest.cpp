// Presets + propagation on the zoo GPT training step: data parallel, Megatron tensor parallel and
// both combined. The expectations are SHARDING.md §5's consequences, checked on the real graph.
#include <gtest/gtest.h>

#include <algorithm>

#include "frontend/Zoo.h"
#include "ir/Function.h"
#include "partition/presets/Presets.h"
#include "partition/mesh/MeshSpec.h"
#include "partition/propagation/Propagation.h"
#include "passes/Pipeline.h"

namespace tessera::partition {
namespace {

struct Step {
  std::unique_ptr<ir::Module> m;
  ir::Function* f = nullptr;
  ShardingPlan plan;
};

// GPT, 2 layers, hidden 16, 4 heads, seq 8, vocab 32; trained with `optimizer`.
Step planGpt(const std::string& mesh, const PresetOptions& o, const std::string& optimizer = "sgd") {
  Step s;
  auto m = frontend::buildZooModel("gpt", {{"layers", "2"}, {"hidden", "16"}, {"heads", "4"},
                                           {"seq", "8"}, {"vocab", "32"}, {"ffn", "32"}});
  EXPECT_TRUE(m.isOk()) << m.status().message();
  if (!m.isOk()) return s;
  s.m = std::move(*m);
  auto p = passes::Pipeline::parse("train-step{optimizer=" + optimizer + ", lr=0.1}");
  EXPECT_TRUE(p.isOk());
  auto ran = p->run(*s.m);
  EXPECT_TRUE(ran.isOk()) << ran.status().message();
  s.f = s.m->findFunction("train_step");
  auto me = parseMeshSpec(mesh);
  EXPECT_TRUE(me.isOk());
  auto ann = presetAnnotations(*s.m, *s.f, *me, o);
  EXPECT_TRUE(ann.isOk()) << ann.status().message();
  PropagationOptions po;
  po.preset = *ann;
  po.symbolValues = {{"B", 4}, {"S", 8}};
  auto plan = propagateShardings(*s.f, s.m->meshes.back(), po);
  EXPECT_TRUE(plan.isOk()) << plan.status().message();
  if (plan.isOk()) s.plan = std::move(*plan);
  return s;
}

ir::Value* arg(const ir::Function& f, const std::string& name) {
  for (int i = 0; i < f.numArguments(); ++i)
    if (f.argument(i)->name() == name) return f.argument(i);
  ADD_FAILURE() << "no argument %" << name;
  return nullptr;
}

bool hasPartial(const ir::Value* v, const std::string& axis) {
  for (const auto& p : v->sharding()->partial)
    if (p.first == axis && p.second == ir::PartialKind::Sum) return true;
  return false;
}

bool isSymbol(const ir::Dim& d, const char* s) { return d.asSymbol() == std::string(s); }

// Weight-gradient contractions: dots/matmuls contracting a batch-derived (symbolic) factor into
// an all-constant result (a gradient of a weight matrix).
std::vector<const ir::Op*> weightGradDots(const Step& s) {
  std::vector<const ir::Op*> out;
  for (const auto& op : s.f->ops()) {
    if (op->kind() != ir::OpKind::Dot && op->kind() != ir::OpKind::Matmul) continue;
    const auto& shape = op->result()->type().shape;
    bool constant = std::all_of(shape.begin(), shape.end(), [](const ir::Dim& d) { return d.isConstant(); });
    if (!constant) continue;
    const OpSharding* os = s.plan.find(op.get());
    for (const Factor& f : os->factors.factors)
      if (f.kind == FactorKind::ReduceSum && !f.size.isConstant()) { out.push_back(op.get()); break; }
  }
  return out;
}

TEST(ZooPresets, DataParallelSplitsBatchAndMakesWeightGradientsPartial) {
  PresetOptions o;
  o.dataParallel = true;
  Step s = planGpt("dp=2", o);
  ASSERT_TRUE(s.f);
  EXPECT_EQ(arg(*s.f, "tokens")->sharding()->str(), "{dp, -}");
  EXPECT_EQ(arg(*s.f, "targets")->sharding()->str(), "{dp, -}");
  EXPECT_EQ(arg(*s.f, "h0.attn.qkv.w")->sharding()->str(), "{-, -}");
  // 2 layers x (qkv, attn.proj, mlp.fc, mlp.proj) + the tied LM head's gradient dot.
  auto dots = weightGradDots(s);
  EXPECT_GE(dots.size(), 9u);
  for (const ir::Op* op : dots) {
    const OpSharding* os = s.plan.find(op);
    // The contracted batch factor (extent B or B*S; a separate S factor stays whole) is on dp.
    bool batchOnDp = false;
    for (size_t f = 0; f < os->factors.factors.size(); ++f) {
      const Factor& fac = os->factors.factors[f];
      auto syms = fac.size.symbols();
      if (fac.kind == FactorKind::ReduceSum && std::find(syms.begin(), syms.end(), "B") != syms.end())
        batchOnDp |= os->factorAxes[f] == AxisList{"dp"};
    }
    EXPECT_TRUE(batchOnDp) << op->result()->name();
    EXPECT_TRUE(hasPartial(op->result(), "dp")) << op->result()->name() << " "
                                                << op->result()->sharding()->str();
  }
  // Every activation with a leading batch dim is split on it.
  int activations = 0;
  for (const auto& op : s.f->ops())
    for (int r = 0; r < op->numResults(); ++r) {
      const ir::Value* v = op->result(r);
      if (v->type().rank() >= 2 && isSymbol(v->type().shape[0], "B")) {
        ++activations;
        EXPECT_EQ(v->sharding()->dims[0].axes, AxisList{"dp"}) << v->name() << " " << v->type().str();
      }
    }
  EXPECT_GT(activations, 20);
  // The loss is a mean over the split batch: a partial sum over dp.
  EXPECT_TRUE(hasPartial(s.f->results()[0], "dp")) << s.f->results()[0]->sharding()->str();
  // Updated parameters are full values again (the partial gradient is resolved before use).
  for (size_t i = 1; i < s.f->results().size(); ++i) EXPECT_TRUE(s.f->results()[i]->sharding()->partial.empty());
  for (const auto& w : s.plan.warnings) ADD_FAILURE() << w.loc.str() << ": " << w.message;
}

std::vector<const ir::Op*> attentionScoreDots(const Step& s) {
  std::vector<const ir::Op*> out;
  for (const auto& op : s.f->ops())
    if (op->kind() == ir::OpKind::Dot && op->result()->type().rank() == 4 &&
        op->result()->type().shape[1] == ir::Dim(4))
      out.push_back(op.get());
  return out;
}

void expectMegatron(const Step& s, const std::string& dpAxis) {
  EXPECT_EQ(arg(*s.f, "h0.attn.qkv.w")->sharding()->str(), "{-, tp}");
  EXPECT_EQ(arg(*s.f, "h0.attn.proj.w")->sharding()->str(), "{tp, -}");
  EXPECT_EQ(arg(*s.f, "h1.mlp.fc.w")->sharding()->str(), "{-, tp}");
  EXPECT_EQ(arg(*s.f, "h1.mlp.proj.w")->sharding()->str(), "{tp, -}");
  EXPECT_EQ(arg(*s.f, "wte")->sharding()->str(), "{tp, -}");
  // Attention heads (dim 1 of [B, heads, S, S] and [B, heads, S, hd]) split on tp: forward and
  // backward dots alike.
  auto dots = attentionScoreDots(s);
  EXPECT_GE(dots.size(), 4u);
  for (const ir::Op* op : dots) {
    EXPECT_EQ(op->result()->sharding()->dims[1].axes, AxisList{"tp"}) << op->result()->sharding()->str();
    if (!dpAxis.empty()) {
      EXPECT_EQ(op->result()->sharding()->dims[0].axes, AxisList{dpAxis});
    }
  }
  // Row-parallel matmuls (attn.proj, mlp.proj) in the forward contract the tp-split dim: partial.
  int rowParallel = 0;
  for (const auto& op : s.f->ops()) {
    if (op->kind() != ir::OpKind::Matmul) continue;
    const std::string& w = op->operand(1)->name();
    if (w.size() > 7 && w.compare(w.size() - 7, 7, ".proj.w") == 0) {
      ++rowParallel;
      EXPECT_TRUE(hasPartial(op->result(), "tp")) << w << " " << op->result()->sharding()->str();
    }
  }
  EXPECT_EQ(rowParallel, 4);
}

TEST(ZooPresets, MegatronSplitsWeightsAndHeads) {
  PresetOptions o;
  o.megatron = true;
  Step s = planGpt("tp=2", o);
  ASSERT_TRUE(s.f);
  expectMegatron(s, "");
}

TEST(ZooPresets, DataAndTensorParallelCombined) {
  PresetOptions o;
  o.megatron = true;
  o.dataParallel = true;
  Step s = planGpt("dp=2,tp=2", o);
  ASSERT_TRUE(s.f);
  expectMegatron(s, "dp");
  EXPECT_EQ(arg(*s.f, "tokens")->sharding()->str(), "{dp, -}");
  for (const ir::Op* op : weightGradDots(s)) EXPECT_TRUE(hasPartial(op->result(), "dp"));
}

TEST(ZooPresets, ZeroShardsOptimizerStateOverDp) {
  PresetOptions o;
  o.zero = 1;
  Step s = planGpt("dp=2", o, "adamw");
  ASSERT_TRUE(s.f);
  EXPECT_EQ(arg(*s.f, "h0.mlp.fc.w")->sharding()->str(), "{-, -}");
  EXPECT_EQ(arg(*s.f, "h0.mlp.fc.w.m")->sharding()->str(), "{dp, -}");
  EXPECT_EQ(arg(*s.f, "h0.mlp.fc.w.v")->sharding()->str(), "{dp, -}");
  PresetOptions z3;
  z3.zero = 3;
  Step s3 = planGpt("dp=2", z3, "adamw");
  ASSERT_TRUE(s3.f);
  EXPECT_EQ(arg(*s3.f, "h0.mlp.fc.w")->sharding()->str(), "{dp, -}");
}

TEST(ZooPresets, PresetOnAMissingAxisIsAnError) {
  auto m = frontend::buildZooModel("gpt", {{"layers", "1"}, {"hidden", "16"}, {"heads", "2"},
                                           {"seq", "8"}, {"vocab", "32"}});
  ASSERT_TRUE(m.isOk());
  ASSERT_TRUE(passes::Pipeline::parse("train-step")->run(**m).isOk());
  PresetOptions o;
  o.megatron = true;
  auto ann = presetAnnotations(**m, *(*m)->findFunction("train_step"), *parseMeshSpec("dp=2"), o);
  ASSERT_FALSE(ann.isOk());
  EXPECT_NE(ann.status().message().find("no axis 'tp'"), std::string::npos) << ann.status().message();
  PresetOptions bad;
  Status st = parseParallelFlag("dp,zero=4", bad);
  EXPECT_NE(st.message().find("zero level must be 1, 2 or 3"), std::string::npos) << st.message();
  st = parseParallelFlag("dp,pipeline", bad);
  EXPECT_NE(st.message().find("unknown preset 'pipeline'"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace tessera::partition
