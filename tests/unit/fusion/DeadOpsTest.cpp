// Dead ops in the compiled engine's lowering (FusionPlan.h: OpClass::Dead). A step built by
// inlining can carry values nothing reads — a pipeline stage's backward re-inlines its forward,
// and MoE-GPT's running auxiliary-loss sums there are never used — and a fused group made only
// of such ops used to become a kernel with no outputs ("kernel 'fusion_N': has no outputs",
// which stopped MoE-GPT's pipeline step from compiling). These tests pin the liveness rule:
// ops are dead exactly when nothing live reads them and they have no side effect.
#include <gtest/gtest.h>

#include "codegen/fusion/FusionPlan.h"
#include "codegen/fusion/Lowering.h"
#include "ir/Parser.h"

namespace tessera::codegen {
namespace {

std::unique_ptr<ir::Module> parse(const std::string& text) {
  auto m = ir::parseModule(text, "dead.tir");
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? std::move(*m) : nullptr;
}

int countKind(const Executable& e, ThunkKind k) {
  int n = 0;
  for (const Thunk& t : e.thunks) n += t.kind == k;
  return n;
}

// The shape of the MoE pipeline failure: a scalar sum of two values from outside (the auxiliary
// loss accumulated across layers), unused. Alone it forms a fused group with nothing to store.
TEST(DeadOps, AnUnusedScalarSumEmitsNoKernel) {
  auto m = parse(R"(module @m {
 func @main(%x: f32[4,8], %a: f32[], %b: f32[]) -> (f32[4,8]) {
  %y = exp %x : f32[4,8]
  %aux = add %a, %b : f32[]
  return %y
 }
})");
  ASSERT_TRUE(m);
  const ir::Function* f = m->findFunction("main");
  FusionPlan p = planFusion(*f);
  EXPECT_EQ(p.opClass[0], OpClass::Fused);
  EXPECT_EQ(p.opClass[1], OpClass::Dead);
  EXPECT_EQ(p.opGroup[1], -1);
  auto e = lowerFunction(*f, {});
  ASSERT_TRUE(e.isOk()) << e.status().message();
  // One kernel (the exp), storing one value; every kernel has an output.
  ASSERT_EQ(countKind(*e, ThunkKind::Kernel), 1) << e->str();
  for (const KernelDesc& k : e->kernels) EXPECT_FALSE(k.outputs.empty()) << k.name;
}

// Deadness runs backwards through every op class: a dead GEMM, its fused consumer, a view and a
// library op in between; an op with one live use among dead ones stays.
TEST(DeadOps, DeadChainsAcrossClassesAreDropped) {
  auto m = parse(R"(module @m {
 func @main(%x: f32[4,8], %w: f32[8,8]) -> (f32[4,8]) {
  %e = exp %x : f32[4,8]
  %g = matmul %e, %w : f32[4,8]
  %t = transpose %g perm=[1,0] : f32[8,4]
  %c = concat %t, %t axis=0 : f32[16,4]
  %s = reduce_sum %c axes=[1] : f32[16]
  %live = neg %e : f32[4,8]
  return %live
 }
})");
  ASSERT_TRUE(m);
  const ir::Function* f = m->findFunction("main");
  FusionPlan p = planFusion(*f);
  const std::vector<OpClass> want = {OpClass::Fused, OpClass::Dead, OpClass::Dead,
                                     OpClass::Dead,  OpClass::Dead, OpClass::Fused};
  ASSERT_EQ(p.opClass.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(p.opClass[i], want[i]) << "op " << i;
  auto e = lowerFunction(*f, {});
  ASSERT_TRUE(e.isOk()) << e.status().message();
  EXPECT_EQ(countKind(*e, ThunkKind::Gemm), 0) << e->str();
  EXPECT_EQ(countKind(*e, ThunkKind::Library), 0) << e->str();
  // exp and neg fuse into one kernel that stores only %live.
  ASSERT_EQ(countKind(*e, ThunkKind::Kernel), 1) << e->str();
  EXPECT_EQ(e->kernels[0].outputs.size(), 1u);
}

// Side effects keep what feeds them: a send's operand chain is live even though no result reads
// it; an unused collective result stays (every rank must issue the same collectives); a pure
// axis_index nobody reads is dead.
TEST(DeadOps, SendsCollectivesAndTheirOperandsStayLive) {
  auto m = parse(R"(module @m {
 mesh @mesh = <pp=2>
 func @main(%x: f32[4,8]) -> (f32[4,8]) {
  %a = exp %x : f32[4,8]
  %b = mul %a, %a : f32[4,8]
  send %b axes=[pp] peer=1
  %r = recv axes=[pp] peer=1 : f32[4,8]
  %i = axis_index axes=[pp] : i64[]
  %y = neg %x : f32[4,8]
  return %y
 }
})");
  ASSERT_TRUE(m);
  const ir::Function* f = m->findFunction("main");
  const std::vector<bool> live = liveOps(*f);
  EXPECT_EQ(live, (std::vector<bool>{true, true, true, true, false, true}));
  FusionPlan p = planFusion(*f);
  EXPECT_EQ(p.opClass[2], OpClass::Collective);
  EXPECT_EQ(p.opClass[3], OpClass::Collective);
  EXPECT_EQ(p.opClass[4], OpClass::Dead);
  auto e = lowerFunction(*f, {});
  ASSERT_TRUE(e.isOk()) << e.status().message();
  EXPECT_EQ(countKind(*e, ThunkKind::Collective), 2) << e->str();
}

// Unfused mode (one kernel per op) has the same rule.
TEST(DeadOps, UnfusedModeDropsDeadOpsToo) {
  auto m = parse(R"(module @m {
 func @main(%x: f32[4,8]) -> (f32[4,8]) {
  %a = tanh %x : f32[4,8]
  %b = exp %a : f32[4,8]
  %y = neg %x : f32[4,8]
  return %y
 }
})");
  ASSERT_TRUE(m);
  const ir::Function* f = m->findFunction("main");
  LoweringOptions o;
  o.fuse = false;
  auto e = lowerFunction(*f, o);
  ASSERT_TRUE(e.isOk()) << e.status().message();
  EXPECT_EQ(countKind(*e, ThunkKind::Kernel), 1) << e->str();
}

}  // namespace
}  // namespace tessera::codegen
