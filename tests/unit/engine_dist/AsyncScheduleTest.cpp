// The async schedule of collectives and the bucket plan, on a lowered Executable (no MPI needed):
// each all_reduce's start sits right after the GEMM producing its operand, its done right before
// the first thunk reading its result, so the second reduction finishes first, out of program
// order; the buffer plan keeps each operand alive until its done; the two all_reduces share a
// bucket that closes at its second member, before the first done.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "codegen/dist/AsyncSchedule.h"
#include "codegen/dist/Bucketing.h"
#include "codegen/fusion/Lowering.h"
#include "codegen/memory/BufferPlan.h"
#include "ir/Parser.h"

namespace tessera::codegen {
namespace {

// Program order: the reduction of g1 is listed first, but g2's reduction is consumed first.
const char* kText = R"(
module @s {
  mesh @m = <b=2>
  func @main(%x: f32[4,4], %w: f32[4,4]) -> (f32[4,4]) {
    %g1 = matmul %x, %w : f32[4,4]
    %g2 = matmul %g1, %w : f32[4,4]
    %h = matmul %g2, %w : f32[4,4]
    %r1 = all_reduce %g1 axes=[b] op=sum : f32[4,4]
    %r2 = all_reduce %g2 axes=[b] op=sum : f32[4,4]
    %s = matmul %r2, %h : f32[4,4]
    %t = matmul %s, %r1 : f32[4,4]
    return %t
  }
}
)";

int indexOf(const Executable& exe, const std::string& labelPrefix, int nth = 0) {
  for (size_t i = 0; i < exe.thunks.size(); ++i)
    if (exe.thunks[i].label.rfind(labelPrefix, 0) == 0 && nth-- == 0) return static_cast<int>(i);
  return -1;
}

TEST(AsyncSchedule, StartsAfterTheProducerDonesBeforeTheConsumer) {
  auto m = ir::parseModule(kText, "s.tir");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  auto exe = lowerFunction(*(*m)->findFunction("main"), LoweringOptions{});
  ASSERT_TRUE(exe.isOk()) << exe.status().message();
  ASSERT_EQ(scheduleAsyncCollectives(*exe), 2) << exe->str();
  // Thunks: gemm g1, start r1, gemm g2, start r2, gemm h, done r2, gemm s, done r1, gemm t.
  std::vector<std::string> want = {"gemm", "start collective all_reduce", "gemm",
                                   "start collective all_reduce", "gemm",
                                   "done collective all_reduce", "gemm",
                                   "done collective all_reduce", "gemm"};
  ASSERT_EQ(exe->thunks.size(), want.size()) << exe->str();
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(exe->thunks[i].label.rfind(want[i], 0), 0u) << i << ": " << exe->thunks[i].label;
  // r2 (op 4) finishes first, r1 (op 3) last.
  EXPECT_EQ(exe->thunks[5].op, exe->thunks[3].op);
  EXPECT_EQ(exe->thunks[7].op, exe->thunks[1].op);
  EXPECT_NE(exe->thunks[1].op, exe->thunks[3].op);

  // The operand of r1 (g1's buffer) and its result stay allocated from start to done.
  auto plan = planBuffers(*exe, {}, {});
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  int g1 = exe->thunks[1].views[0].buffer, r1 = exe->thunks[1].views[1].buffer;
  EXPECT_GE(plan->lastUse[g1], 7);
  EXPECT_LE(plan->firstUse[r1], 1);
  EXPECT_GE(plan->lastUse[r1], 7);
  // r1's result block must not be shared with anything live in between.
  for (size_t b = 0; b < exe->buffers.size(); ++b) {
    if (static_cast<int>(b) == r1 || plan->offset[b] < 0 || plan->firstUse[b] < 0) continue;
    bool overlapInTime = plan->firstUse[b] <= plan->lastUse[r1] && plan->lastUse[b] >= plan->firstUse[r1];
    bool overlapInSpace = plan->offset[b] < plan->offset[r1] + plan->bytes[r1] &&
                          plan->offset[r1] < plan->offset[b] + plan->bytes[b];
    EXPECT_FALSE(overlapInTime && overlapInSpace) << exe->buffers[b].name;
  }

  // Both all_reduces (same axes, op and type, 2 thunks apart) share one bucket, which closes at
  // its second member — before r2's done.
  BucketPlan bp = planBuckets(*exe);
  EXPECT_EQ(bp.buckets, 1);
  EXPECT_EQ(bp.bucketOf[1], 0);
  EXPECT_EQ(bp.bucketOf[3], 0);
  EXPECT_FALSE(bp.lastOf[1]);
  EXPECT_TRUE(bp.lastOf[3]);
}

TEST(AsyncSchedule, ResultsOfTheFunctionAndPointToPointStayBlocking) {
  auto m = ir::parseModule(R"(
module @s {
  mesh @m = <b=2>
  func @main(%x: f32[4]) -> (f32[4]) {
    send %x axes=[b] peer=1
    %r = all_reduce %x axes=[b] op=sum : f32[4]
    return %r
  }
}
)", "s.tir");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  auto exe = lowerFunction(*(*m)->findFunction("main"), LoweringOptions{});
  ASSERT_TRUE(exe.isOk()) << exe.status().message();
  EXPECT_EQ(scheduleAsyncCollectives(*exe), 0) << exe->str();
  EXPECT_EQ(indexOf(*exe, "start"), -1);
}

// A collective reading another collective's result (sequence parallelism's gradient path: a
// reduce_scatter over tp, then an all_reduce over dp of its result, with a kernel producing a
// second operand in between): the consumer's start must come after the producer's done, which
// is where the producer's result is written — not after the producer's original slot. The
// schedule used to start the all_reduce first and reduce a buffer not yet written.
TEST(AsyncSchedule, ACollectiveOfACollectiveStartsAfterItsProducersDone) {
  auto m = ir::parseModule(R"(
module @s {
  mesh @m = <dp=2, tp=2>
  func @main(%x: f32[4,4], %w: f32[4,4]) -> (f32[2,4]) {
    %g = matmul %x, %w : f32[4,4]
    %r = reduce_scatter %g axes=[tp] dim=0 op=sum : f32[2,4]
    %h = matmul %x, %w : f32[4,4]
    %a = all_reduce %r axes=[dp] op=sum : f32[2,4]
    %b = all_gather %a axes=[tp] dim=0 : f32[4,4]
    %c = add %b, %h : f32[4,4]
    %d = reduce_scatter %c axes=[tp] dim=0 op=sum : f32[2,4]
    %e = mul %d, %d : f32[2,4]
    return %e
  }
}
)", "s.tir");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  auto exe = lowerFunction(*(*m)->findFunction("main"), LoweringOptions{});
  ASSERT_TRUE(exe.isOk()) << exe.status().message();
  ASSERT_EQ(scheduleAsyncCollectives(*exe), 4) << exe->str();
  // Position of each op's start and done (the op's first and second thunk).
  std::map<int, std::vector<int>> thunksOf;
  for (size_t i = 0; i < exe->thunks.size(); ++i) {
    const Thunk& t = exe->thunks[i];
    if (t.kind != ThunkKind::Collective) continue;
    thunksOf[t.op].push_back(static_cast<int>(i));
  }
  ASSERT_EQ(thunksOf.size(), 4u) << exe->str();
  std::vector<std::vector<int>> ops;  // in program order: r, a, b, d
  for (const auto& [op, th] : thunksOf) {
    ASSERT_EQ(th.size(), 2u) << exe->str();
    ops.push_back(th);
  }
  // Each consumer starts after its producer is done: a after r, b after a, d after b's result
  // was consumed by the add (which itself runs after b's done).
  EXPECT_GT(ops[1][0], ops[0][1]) << exe->str();
  EXPECT_GT(ops[2][0], ops[1][1]) << exe->str();
  EXPECT_GT(ops[3][0], ops[2][1]) << exe->str();
  // Every start precedes its own done.
  for (const auto& th : ops) EXPECT_LT(th[0], th[1]) << exe->str();
}

}  // namespace
}  // namespace tessera::codegen
