// The async schedule with its buffer plan on small hand-built programs (no MPI: the schedule and
// the plan are static), checked by ScheduleHazards.h: between a collective's start and done no
// thunk touches the result's storage or writes the operand's. The programs put fused kernels
// around the collectives the way a training step does (the decayed parameter computed before
// the gradient's all_reduce, the update after it), once as one kernel and once split; and one
// executable is corrupted by hand to show the checker fires.
#include <gtest/gtest.h>

#include "codegen/dist/AsyncSchedule.h"
#include "codegen/fusion/Lowering.h"
#include "ir/Parser.h"
#include "tests/unit/async_schedule/ScheduleHazards.h"

namespace tessera::async_schedule_test {
namespace {

// An AdamW-like step on two parameters: the gradient GEMMs, their all_reduces over b, and the
// elementwise updates reading the decayed parameter, the reduced gradient and the moments.
const char* kStep = R"(
module @s {
  mesh @m = <b=2>
  func @main(%x: f32[8,4], %y: f32[4,8], %p: f32[8,8], %q: f32[8,8], %m: f32[8,8]) -> (f32[8,8], f32[8,8], f32[8,8]) {
    %gp = matmul %x, %y : f32[8,8]
    %gq = matmul %gp, %q : f32[8,8]
    %h = full value=0.9 : f32[8,8]
    %dp = mul %p, %h : f32[8,8]
    %rp = all_reduce %gp axes=[b] op=sum : f32[8,8]
    %dq = mul %q, %h : f32[8,8]
    %rq = all_reduce %gq axes=[b] op=sum : f32[8,8]
    %mp = add %m, %rp : f32[8,8]
    %vp = mul %rp, %rp : f32[8,8]
    %np = sub %dp, %vp : f32[8,8]
    %nq = sub %dq, %rq : f32[8,8]
    %nn = add %np, %mp : f32[8,8]
    return %nn, %nq, %vp
  }
}
)";

codegen::Executable lowered(const ir::Module& m, bool fuse) {
  codegen::LoweringOptions o;
  o.fuse = fuse;
  auto exe = codegen::lowerFunction(*m.findFunction("main"), o);
  EXPECT_TRUE(exe.isOk()) << exe.status().message();
  return exe.isOk() ? std::move(*exe) : codegen::Executable{};
}

TEST(ScheduleHazards, NoneInTheAsyncScheduleFusedOrNot) {
  auto m = ir::parseModule(kStep, "s.tir");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  for (bool fuse : {true, false}) {
    codegen::Executable exe = lowered(**m, fuse);
    ASSERT_EQ(codegen::scheduleAsyncCollectives(exe), 2) << exe.str();
    auto plan = codegen::planBuffers(exe, {}, {});
    ASSERT_TRUE(plan.isOk()) << plan.status().message();
    int split = 0;
    std::vector<std::string> h = scheduleHazards(exe, *plan, &split);
    EXPECT_EQ(split, 2);
    for (const std::string& s : h) ADD_FAILURE() << (fuse ? "fused: " : "unfused: ") << s;
  }
}

TEST(ScheduleHazards, ACorruptedScheduleIsCaught) {
  auto m = ir::parseModule(kStep, "s.tir");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  codegen::Executable exe = lowered(**m, true);
  ASSERT_EQ(codegen::scheduleAsyncCollectives(exe), 2);
  // Move the first done to the very end: the thunks reading its result now run before it.
  int firstDone = -1;
  for (size_t i = 0; i < exe.thunks.size(); ++i)
    if (exe.thunks[i].label.rfind("done ", 0) == 0) {
      firstDone = static_cast<int>(i);
      break;
    }
  ASSERT_GE(firstDone, 0) << exe.str();
  codegen::Thunk done = exe.thunks[firstDone];
  exe.thunks.erase(exe.thunks.begin() + firstDone);
  exe.thunks.push_back(done);
  auto plan = codegen::planBuffers(exe, {}, {});
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  std::vector<std::string> h = scheduleHazards(exe, *plan);
  ASSERT_FALSE(h.empty()) << exe.str();
  EXPECT_NE(h[0].find("overlaps the result"), std::string::npos) << h[0];
}

}  // namespace
}  // namespace tessera::async_schedule_test
