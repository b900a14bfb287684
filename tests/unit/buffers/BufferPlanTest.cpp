// Buffer assignment: liveness, first-fit reuse, in-place updates and peaks, with expected bytes
// worked out by hand.
#include <gtest/gtest.h>

#include "codegen/fusion/Lowering.h"
#include "codegen/memory/BufferPlan.h"
#include "ir/Parser.h"

namespace tessera::codegen {
namespace {

std::unique_ptr<ir::Module> parse(const std::string& text) {
  auto m = ir::parseModule(text, "buffers.tir");
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? std::move(*m) : nullptr;
}

Executable lower(const ir::Module& m, bool fuse) {
  LoweringOptions o;
  o.fuse = fuse;
  o.parameters = {"p"};
  auto e = lowerFunction(*m.findFunction("main"), o);
  EXPECT_TRUE(e.isOk()) << e.status().message();
  return std::move(*e);
}

TEST(BufferPlan, ElementwiseChainRunsInPlace) {
  // Unfused: exp, neg, tanh each write over their dead input: one 4*N-byte block in all.
  auto m = parse(R"(module @m {
 sym N
 func @main(%x: f32[N]) -> (f32[N]) {
  %a = exp %x : f32[N]
  %b = neg %a : f32[N]
  %c = tanh %b : f32[N]
  return %c
 }
})");
  Executable e = lower(*m, false);
  auto p = planBuffers(e, {{"N", 1000}}, {});
  ASSERT_TRUE(p.isOk()) << p.status().message();
  EXPECT_EQ(p->arenaBytes, 4032);  // 4000 bytes rounded up to 64
  EXPECT_EQ(p->peakLiveBytes, 4032);
  // The symbols change the plan, not the executable.
  auto q = planBuffers(e, {{"N", 10}}, {});
  ASSERT_TRUE(q.isOk());
  EXPECT_EQ(q->arenaBytes, 64);
  auto bad = planBuffers(e, {}, {});
  EXPECT_FALSE(bad.isOk());
}

TEST(BufferPlan, DeadBuffersAreReusedFirstFit) {
  // %a (400 B) dies at the first matmul; %c (400 B) then reuses its offset while %b
  // (10x16 f32 = 640 B) is still live. Peak: 448 + 640 (400-byte blocks round up to 448).
  auto m = parse(R"(module @m {
 func @main(%x: f32[10,10], %w: f32[10,16], %v: f32[16,10]) -> (f32[10,10]) {
  %a = exp %x : f32[10,10]
  %b = matmul %a, %w : f32[10,16]
  %c = matmul %b, %v : f32[10,10]
  return %c
 }
})");
  Executable e = lower(*m, true);
  ASSERT_EQ(e.thunks.size(), 3u) << e.str();
  auto p = planBuffers(e, {}, {});
  ASSERT_TRUE(p.isOk());
  int a = e.thunks[0].views.back().buffer, b = e.thunks[1].views[2].buffer,
      c = e.thunks[2].views[2].buffer;
  EXPECT_EQ(p->offset[a], 0);
  EXPECT_EQ(p->offset[b], 448);
  EXPECT_EQ(p->offset[c], 0);
  EXPECT_EQ(p->arenaBytes, 448 + 640);  // 10*16*4 = 640 bytes
  EXPECT_EQ(p->peakLiveBytes, 448 + 640);
}

TEST(BufferPlan, OptimizerUpdateWritesOverTheParameter) {
  auto m = parse(R"(module @m {
 func @main(%p: f32[64], %g: f32[64]) -> (f32[64], f32[64]) {
  %lr = full value=0.1 : f32[]
  %s = mul %g, %lr : f32[64]
  %q = sub %p, %s : f32[64]
  %twice = add %p, %s : f32[64]
  return %q, %twice
 }
})");
  Executable e = lower(*m, true);
  auto p = planBuffers(e, {}, {{0, 0}});
  ASSERT_TRUE(p.isOk());
  // One kernel reads %p (for %q and %twice) at the index it writes %q: still in place.
  EXPECT_EQ(p->inPlaceResults.count(0), 1u) << e.str();
  EXPECT_EQ(p->argumentBytesByCategory[static_cast<int>(MemCategory::Parameter)], 256);
  EXPECT_EQ(p->argumentBytesByCategory[static_cast<int>(MemCategory::Input)], 256);
  // Only %twice lives in the arena.
  EXPECT_EQ(p->arenaBytes, 256);
}

TEST(BufferPlan, UpdateReadLaterIsNotInPlace) {
  // %p is read after %q is computed (by the matmul): writing %q over %p would corrupt it.
  auto m = parse(R"(module @m {
 func @main(%p: f32[4,4], %g: f32[4,4]) -> (f32[4,4], f32[4,4]) {
  %q = sub %p, %g : f32[4,4]
  %r = matmul %q, %p : f32[4,4]
  return %q, %r
 }
})");
  Executable e = lower(*m, true);
  auto p = planBuffers(e, {}, {{0, 0}});
  ASSERT_TRUE(p.isOk());
  EXPECT_EQ(p->inPlaceResults.count(0), 0u) << e.str();
}

}  // namespace
}  // namespace tessera::codegen
