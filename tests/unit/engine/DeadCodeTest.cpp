// The compiled engine on functions that carry dead code (ops nothing live reads). The pipeline
// step of MoE-GPT built without the forward reuse (PipelineStepOptions::reuseForward = false:
// each backward re-inlines its stage's forward, whose auxiliary-loss sums nobody reads) made the
// engine build a kernel with no outputs ("kernel 'fusion_N': has no outputs"); the lowering now
// skips dead ops (codegen/fusion/FusionPlan.h). Checked: such a step lowers, its executable is
// the one of the same step after the DCE pass (same thunks of every kind), and a small function
// with dead ops computes what the interpreter computes.
#include "frontend/Zoo.h"
#include "partition/pipeline/PipelineStep.h"
#include "passes/DcePass.h"
#include "passes/training/TrainStep.h"
#include "codegen/fusion/FusionPlan.h"
#include "tests/unit/engine/EngineTestUtil.h"

namespace tessera::codegen::testing {
namespace {

TEST(DeadCode, DeadOpsOfEveryClassDoNotChangeResults) {
  expectMatchesInterpreter(R"(module @m {
 sym B
 func @main(%x: f32[B,8], %w: f32[8,8], %a: f32[], %b: f32[]) -> (f32[B,8], f32[]) {
  %aux = add %a, %b : f32[]
  %h = matmul %x, %w : f32[B,8]
  %dead = matmul %h, %w : f32[B,8]
  %dead2 = softmax %dead axis=-1 : f32[B,8]
  %y = tanh %h : f32[B,8]
  %aux2 = mul %aux, %a : f32[]
  %s = mul %a, %b : f32[]
  return %y, %s
 }
})",
                           {{"x", randomTensor(ir::DType::F32, {3, 8}, 1)},
                            {"w", randomTensor(ir::DType::F32, {8, 8}, 2)},
                            {"a", randomTensor(ir::DType::F32, {}, 3)},
                            {"b", randomTensor(ir::DType::F32, {}, 4)}});
}

std::map<std::string, std::string> moeFlags() {
  return {{"layers", "4"}, {"hidden", "16"}, {"heads", "4"}, {"seq", "8"}, {"vocab", "257"},
          {"ffn", "32"},   {"seed", "3"},    {"experts", "4"}, {"group_size", "8"}};
}

StatusOr<partition::pipeline::PipelineStep> moePipelineStep(const ir::Module& m) {
  passes::TrainStepOptions ts;
  ts.optimizer.kind = passes::OptimizerKind::Sgd;
  ts.optimizer.lr = 0.1;
  ts.optimizer.momentum = 0.9;
  partition::pipeline::PipelineStepOptions o;
  o.schedule = {partition::pipeline::ScheduleKind::OneFOneB, 2, 2, 1};
  o.reuseForward = false;  // the backward recomputes: the re-inlined forward's scalars are dead
  return partition::pipeline::buildPipelineStep(m, ts, o);
}

std::map<ThunkKind, int> thunkKinds(const Executable& e) {
  std::map<ThunkKind, int> n;
  for (const Thunk& t : e.thunks) ++n[t.kind];
  return n;
}

TEST(DeadCode, MoePipelineStepWithoutForwardReuseLowers) {
  auto m = frontend::buildZooModel("moe-gpt", moeFlags());
  ASSERT_TRUE(m.isOk()) << m.status().message();
  auto step = moePipelineStep(**m);
  ASSERT_TRUE(step.isOk()) << step.status().message();
  // The same step, dead ops removed by the IR pass (an independent liveness implementation).
  auto clean = moePipelineStep(**m);
  ASSERT_TRUE(clean.isOk()) << clean.status().message();
  for (const auto& rs : step->ranks) {
    SCOPED_TRACE(rs.info.function);
    const ir::Function* f = step->module->findFunction(rs.info.function);
    ir::Function* g = clean->module->findFunction(rs.info.function);
    ASSERT_TRUE(f && g);
    // The case this test is about: dead ops that would be fused (or be whole fused groups).
    const std::vector<bool> live = liveOps(*f);
    int deadFusible = 0;
    for (int i = 0; i < f->numOps(); ++i) deadFusible += !live[i] && isFusibleOp(*f->ops()[i]);
    EXPECT_GT(deadFusible, 0);
    EXPECT_TRUE(passes::eliminateDeadOps(*g));
    EXPECT_EQ(static_cast<int>(std::count(live.begin(), live.end(), true)), g->numOps());

    auto exe = lowerForPlanning(*step->module, rs.info.function, evalOptions());
    ASSERT_TRUE(exe.isOk()) << exe.status().message();
    for (const KernelDesc& k : exe->kernels) EXPECT_FALSE(k.outputs.empty()) << k.name;
    auto want = lowerForPlanning(*clean->module, rs.info.function, evalOptions());
    ASSERT_TRUE(want.isOk()) << want.status().message();
    EXPECT_EQ(thunkKinds(*exe), thunkKinds(*want));
    EXPECT_EQ(exe->kernels.size(), want->kernels.size());
  }
}

}  // namespace
}  // namespace tessera::codegen::testing
