// Per-axis communicators of a dp=2 x tp=2 mesh on 4 ranks (row-major: rank = dp*2 + tp). A
// collective over tp must involve exactly the two ranks with the same dp coordinate, and vice versa.
#include <gtest/gtest.h>

#include "comm/Mesh.h"
#include "tests/mpi/support/MpiTest.h"

using namespace tessera::comm;
using tessera::comm::testing_support::world;

namespace {
MeshDesc dpTp() { return MeshDesc{{{"dp", 2}, {"tp", 2}}}; }
}  // namespace

TEST(CommMesh, TpAllReduceSumsOnlyTheTpGroup) {
  Communicator& w = world();
  ASSERT_EQ(w.size(), 4);
  auto tp = splitForAxes(w, dpTp(), {"tp"});
  ASSERT_TRUE(tp.isOk()) << tp.status().message();
  int dp = w.rank() / 2, tpc = w.rank() % 2;
  EXPECT_EQ((*tp)->name(), "tp");
  EXPECT_EQ((*tp)->size(), 2);
  EXPECT_EQ((*tp)->rank(), tpc);
  EXPECT_EQ((*tp)->worldRank(), w.rank());
  // Each rank contributes 10^rank: the sum shows exactly which ranks took part.
  int64_t mine = 1, sum = 0;
  for (int i = 0; i < w.rank(); ++i) mine *= 10;
  ASSERT_TRUE((*tp)->allReduce(&mine, &sum, 1, DataType::I64, ReduceOp::Sum).isOk());
  int64_t expected = dp == 0 ? 1 + 10 : 100 + 1000;  // ranks {0,1} or {2,3}
  EXPECT_EQ(sum, expected);
}

TEST(CommMesh, DpAllGatherCollectsTheDpGroupInDpOrder) {
  Communicator& w = world();
  auto dp = splitForAxes(w, dpTp(), {"dp"});
  ASSERT_TRUE(dp.isOk()) << dp.status().message();
  int tpc = w.rank() % 2;
  EXPECT_EQ((*dp)->rank(), w.rank() / 2);
  int32_t mine = w.rank(), got[2] = {-1, -1};
  ASSERT_TRUE((*dp)->allGather(&mine, got, 1, DataType::I32).isOk());
  EXPECT_EQ(got[0], tpc);      // dp=0, same tp
  EXPECT_EQ(got[1], 2 + tpc);  // dp=1, same tp
}

TEST(CommMesh, BothAxesSpanTheWorldInListedOrder) {
  Communicator& w = world();
  auto tpdp = splitForAxes(w, dpTp(), {"tp", "dp"});
  ASSERT_TRUE(tpdp.isOk()) << tpdp.status().message();
  EXPECT_EQ((*tpdp)->name(), "tp,dp");
  EXPECT_EQ((*tpdp)->size(), 4);
  // Listed tp first: rank in the group = tp*2 + dp.
  EXPECT_EQ((*tpdp)->rank(), (w.rank() % 2) * 2 + w.rank() / 2);
  int32_t mine = w.rank(), got[4] = {};
  ASSERT_TRUE((*tpdp)->allGather(&mine, got, 1, DataType::I32).isOk());
  EXPECT_EQ(got[0], 0);
  EXPECT_EQ(got[1], 2);
  EXPECT_EQ(got[2], 1);
  EXPECT_EQ(got[3], 3);
}

TEST(CommMesh, AxisCommunicatorsWorkConcurrently) {
  Communicator& w = world();
  auto tp = splitForAxes(w, dpTp(), {"tp"});
  auto dp = splitForAxes(w, dpTp(), {"dp"});
  ASSERT_TRUE(tp.isOk() && dp.isOk());
  float a = float(w.rank()), b = float(w.rank()), ta = 0, db = 0;
  Request rt, rd;
  ASSERT_TRUE((*tp)->startAllReduce(&a, &ta, 1, DataType::F32, ReduceOp::Max, &rt).isOk());
  ASSERT_TRUE((*dp)->startAllReduce(&b, &db, 1, DataType::F32, ReduceOp::Sum, &rd).isOk());
  ASSERT_TRUE((*dp)->wait(&rd).isOk());
  ASSERT_TRUE((*tp)->wait(&rt).isOk());
  EXPECT_EQ(ta, float((w.rank() / 2) * 2 + 1));  // max over {2dp, 2dp+1}
  EXPECT_EQ(db, float(2 * (w.rank() % 2) + 2));   // tp + (2 + tp)
}

TEST(CommMesh, MeshThatDoesNotFitIsAnErrorBeforeAnyCollective) {
  Communicator& w = world();
  auto wrong = splitForAxes(w, MeshDesc{{{"dp", 3}}}, {"dp"});
  ASSERT_FALSE(wrong.isOk());
  EXPECT_NE(wrong.status().message().find("needs 3 ranks, but the job has 4"), std::string::npos);
  auto unknown = splitForAxes(w, dpTp(), {"ep"});
  ASSERT_FALSE(unknown.isOk());
  EXPECT_NE(unknown.status().message().find("no axis named 'ep'"), std::string::npos);
  EXPECT_TRUE(w.barrier().isOk());
}
