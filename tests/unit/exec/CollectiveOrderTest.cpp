// The collective ordering check: identical programs pass; a deliberately broken pair (two
// collectives swapped on one rank, a different reduce op, a missing collective) is rejected with
// the communicator, the position, both ranks and both ops with their locations.
#include <gtest/gtest.h>

#include "partition/check/CollectiveOrder.h"
#include "tests/unit/exec/ExecTestUtil.h"

namespace tessera {
namespace {

using exec_test::parse;

const char* kPrograms = R"(
module @p {
  mesh @m = <dp=2, tp=2>
  func @good(%x: f32[4,2]) -> (f32[4,2], f32[8,2]) {
    %s = all_reduce %x axes=[tp] op=sum : f32[4,2]
    %g = all_gather %s axes=[dp] dim=0 : f32[8,2]
    return %s, %g
  }
  func @swapped(%x: f32[4,2]) -> (f32[4,2], f32[8,2]) {
    %g = all_gather %x axes=[dp] dim=0 : f32[8,2]
    %s = all_reduce %x axes=[tp] op=sum : f32[4,2]
    %t = all_reduce %g axes=[tp] op=sum : f32[8,2]
    return %s, %t
  }
  func @maxop(%x: f32[4,2]) -> (f32[4,2], f32[8,2]) {
    %s = all_reduce %x axes=[tp] op=max : f32[4,2]
    %g = all_gather %s axes=[dp] dim=0 : f32[8,2]
    return %s, %g
  }
  func @short(%x: f32[4,2]) -> (f32[4,2]) {
    %s = all_reduce %x axes=[tp] op=sum : f32[4,2]
    return %s
  }
}
)";

TEST(CollectiveOrder, OneProgramOnEveryRankPasses) {
  auto m = parse(kPrograms);
  ASSERT_TRUE(m);
  const ir::Function* g = m->findFunction("good");
  Status s = partition::checkCollectiveOrder(m->meshes[0], {g, g, g, g});
  EXPECT_TRUE(s.isOk()) << s.message();
}

TEST(CollectiveOrder, ASecondTpCollectiveOnOneRankIsRejected) {
  // Rank 3 (dp=1, tp=1) issues two tp collectives where its tp peer, rank 2, issues one.
  auto m = parse(kPrograms);
  ASSERT_TRUE(m);
  const ir::Function* g = m->findFunction("good");
  const ir::Function* w = m->findFunction("swapped");
  Status s = partition::checkCollectiveOrder(m->meshes[0], {g, g, g, w});
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.message(),
            "test.tir:12:5: error: collective order mismatch on communicator [tp] at position 1: "
            "rank 3 issues 'all_reduce f32[8,2] -> f32[8,2] axes=[tp] op=sum' at test.tir:12:5, "
            "rank 2 issues nothing (its sequence ends)");
}

TEST(CollectiveOrder, ADifferentReduceOpIsRejectedAtPositionZero) {
  auto m = parse(kPrograms);
  ASSERT_TRUE(m);
  const ir::Function* g = m->findFunction("good");
  const ir::Function* x = m->findFunction("maxop");
  Status s = partition::checkCollectiveOrder(m->meshes[0], {g, x, g, g});
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.message(),
            "test.tir:16:5: error: collective order mismatch on communicator [tp] at position 0: "
            "rank 1 issues 'all_reduce f32[4,2] -> f32[4,2] axes=[tp] op=max' at test.tir:16:5, "
            "rank 0 issues 'all_reduce f32[4,2] -> f32[4,2] axes=[tp] op=sum' at test.tir:5:5");
}

TEST(CollectiveOrder, AMissingCollectiveOnAnotherCommunicatorIsRejected) {
  // Rank 2 never joins the dp all_gather that rank 0 (its dp peer) waits in.
  auto m = parse(kPrograms);
  ASSERT_TRUE(m);
  const ir::Function* g = m->findFunction("good");
  const ir::Function* s2 = m->findFunction("short");
  Status s = partition::checkCollectiveOrder(m->meshes[0], {g, g, s2, s2});
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("communicator [dp] at position 0: rank 2 issues nothing"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("rank 0 issues 'all_gather f32[4,2] -> f32[8,2] axes=[dp] dim=0'"),
            std::string::npos)
      << s.message();
}

TEST(CollectiveOrder, TheProgramCountMustMatchTheMesh) {
  auto m = parse(kPrograms);
  ASSERT_TRUE(m);
  const ir::Function* g = m->findFunction("good");
  Status s = partition::checkCollectiveOrder(m->meshes[0], {g, g});
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("has 4 devices but 2 programs"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tessera
