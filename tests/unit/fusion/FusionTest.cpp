// Fusion decisions and views: which ops share a kernel, which values are stored, and when a
// reshape or transpose is free.
#include <gtest/gtest.h>

#include "codegen/fusion/FusionPlan.h"
#include "codegen/fusion/Lowering.h"
#include "ir/Parser.h"

namespace tessera::codegen {
namespace {

std::unique_ptr<ir::Module> parse(const std::string& text) {
  auto m = ir::parseModule(text, "fusion.tir");
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? std::move(*m) : nullptr;
}

int countKind(const Executable& e, ThunkKind k) {
  int n = 0;
  for (const Thunk& t : e.thunks) n += t.kind == k;
  return n;
}

TEST(Fusion, AttentionScoresMaskAndSoftmaxAreOneKernel) {
  auto m = parse(R"(module @m {
 sym B
 sym S
 func @main(%s: f32[B,2,S,S]) -> (f32[B,2,S,S]) {
  %i = iota dim=0 : i64[S,S]
  %j = iota dim=1 : i64[S,S]
  %causal = compare %i, %j dir=ge : bool[S,S]
  %c = full value=0.25 : f32[]
  %0 = mul %s, %c : f32[B,2,S,S]
  %big = full value=-1e9 : f32[]
  %1 = select %causal, %0, %big : f32[B,2,S,S]
  %2 = softmax %1 axis=-1 : f32[B,2,S,S]
  return %2
 }
})");
  const ir::Function* f = m->findFunction("main");
  FusionPlan p = planFusion(*f);
  // The mask is a leaf (a function of coordinates), recomputed in the kernel, never stored.
  EXPECT_EQ(p.opClass[2], OpClass::Leaf);
  EXPECT_EQ(p.opClass[4], OpClass::Fused);
  EXPECT_EQ(p.opGroup[4], p.opGroup[7]);
  EXPECT_EQ(p.opGroup[6], p.opGroup[7]);
  auto e = lowerFunction(*f, {});
  ASSERT_TRUE(e.isOk()) << e.status().message();
  ASSERT_EQ(e->thunks.size(), 1u) << e->str();
  EXPECT_EQ(e->kernels[0].inputs.size(), 1u);   // only %s is loaded
  EXPECT_EQ(e->kernels[0].outputs.size(), 1u);  // only the softmax is stored
}

TEST(Fusion, AValueReadOutsideItsGroupIsStoredAndSealsTheGroup) {
  auto m = parse(R"(module @m {
 func @main(%x: f32[4,8], %w: f32[8,8]) -> (f32[4,8]) {
  %a = exp %x : f32[4,8]
  %b = matmul %a, %w : f32[4,8]
  %c = add %a, %b : f32[4,8]
  return %c
 }
})");
  const ir::Function* f = m->findFunction("main");
  FusionPlan p = planFusion(*f);
  // %c may not join %a's group: %a's group ran before the matmul that %c also reads.
  EXPECT_NE(p.opGroup[0], p.opGroup[2]);
  auto e = lowerFunction(*f, {});
  ASSERT_TRUE(e.isOk());
  EXPECT_EQ(countKind(*e, ThunkKind::Kernel), 2) << e->str();
  EXPECT_EQ(countKind(*e, ThunkKind::Gemm), 1) << e->str();
}

// A pipeline stage's gradient accumulation: one add per micro-batch, micro-batches separated by
// communication. Without the seal the whole running sum is one kernel at the last add, and
// every micro-batch's gradient (%g0, %g1, %g2) stays live until then.
TEST(Fusion, CommunicationSealsOpenGroupsSoARunningSumIsNotDeferred) {
  auto m = parse(R"(module @m {
 mesh @mesh = <pp=2>
 func @main(%g0: f32[4,8], %x: f32[4,8]) -> (f32[4,8]) {
  %r1 = recv axes=[pp] peer=1 : f32[4,8]
  %g1 = exp %r1 : f32[4,8]
  %s1 = add %g0, %g1 : f32[4,8]
  send %g1 axes=[pp] peer=1
  %r2 = recv axes=[pp] peer=1 : f32[4,8]
  %g2 = exp %r2 : f32[4,8]
  %s2 = add %s1, %g2 : f32[4,8]
  %y = neg %x : f32[4,8]
  %z = add %s2, %y : f32[4,8]
  return %z
 }
})");
  ASSERT_TRUE(m);
  const ir::Function* f = m->findFunction("main");
  FusionPlan p = planFusion(*f);
  // Within a micro-batch the ops still fuse: exp and the add are one group.
  EXPECT_EQ(p.opGroup[1], p.opGroup[2]);
  // The send sealed it: the next micro-batch's add starts a new group, so %s1 is stored and the
  // first group runs before the send.
  EXPECT_NE(p.opGroup[2], p.opGroup[6]);
  EXPECT_EQ(p.opGroup[5], p.opGroup[6]);
  // After the last communication, fusion goes on as before.
  EXPECT_EQ(p.opGroup[6], p.opGroup[8]);
  EXPECT_EQ(p.opGroup[7], p.opGroup[8]);
  auto e = lowerFunction(*f, {});
  ASSERT_TRUE(e.isOk()) << e.status().message();
  EXPECT_EQ(countKind(*e, ThunkKind::Kernel), 2) << e->str();
}

TEST(Fusion, UnfusedModeGivesOneKernelPerOp) {
  auto m = parse(R"(module @m {
 func @main(%x: f32[4,8]) -> (f32[4,8]) {
  %a = exp %x : f32[4,8]
  %b = neg %a : f32[4,8]
  %c = tanh %b : f32[4,8]
  return %c
 }
})");
  const ir::Function* f = m->findFunction("main");
  auto fused = lowerFunction(*f, {});
  LoweringOptions o;
  o.fuse = false;
  auto unfused = lowerFunction(*f, o);
  ASSERT_TRUE(fused.isOk() && unfused.isOk());
  EXPECT_EQ(fused->thunks.size(), 1u);
  EXPECT_EQ(unfused->thunks.size(), 3u);
}

BufferView contiguousView(std::vector<ir::Dim> shape) {
  BufferView v;
  v.buffer = 0;
  v.offset = ir::Dim(0);
  v.shape = shape;
  v.strides = rowMajorStrides(shape);
  return v;
}

TEST(Views, ReshapeSplitsAndMergesNestedDims) {
  ir::Dim B = ir::Dim::symbol("B"), S = ir::Dim::symbol("S");
  BufferView v = contiguousView({B * S, ir::Dim(32)});
  auto r = reshapeView(v, {B, S, ir::Dim(2), ir::Dim(16)});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->strides, (std::vector<ir::Dim>{S * ir::Dim(32), ir::Dim(32), ir::Dim(16), ir::Dim(1)}));
  // A slice of the last dim [.., 0:32] of [B,S,96] still splits into heads without a copy.
  BufferView q = contiguousView({B, S, ir::Dim(96)});
  q.shape = {B, S, ir::Dim(32)};
  auto h = reshapeView(q, {B, S, ir::Dim(2), ir::Dim(16)});
  ASSERT_TRUE(h);
  EXPECT_EQ(h->strides, (std::vector<ir::Dim>{S * ir::Dim(96), ir::Dim(96), ir::Dim(16), ir::Dim(1)}));
  // But merging S with the sliced dim is not a view.
  EXPECT_FALSE(reshapeView(q, {B, S * ir::Dim(32)}));
  // A transposed view cannot merge its swapped dims.
  BufferView t = contiguousView({ir::Dim(4), ir::Dim(6)});
  std::swap(t.shape[0], t.shape[1]);
  std::swap(t.strides[0], t.strides[1]);
  EXPECT_FALSE(reshapeView(t, {ir::Dim(24)}));
}

}  // namespace
}  // namespace tessera::codegen
