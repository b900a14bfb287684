// The in-process executor's collectives on a 2x2 mesh, against results written out by hand from
// each collective's definition (OpKinds.def): every rank's input is known, so every rank's
// output is too. Also: axis_index, failures that must end with an error (not a hang), and that
// the reference interpreter alone still refuses collectives.
#include <gtest/gtest.h>

#include "ir/Interpreter.h"
#include "partition/exec/InProcessExecutor.h"
#include "tests/unit/exec/ExecTestUtil.h"

namespace tessera {
namespace {

using ir::DType;
using ir::Tensor;
using exec_test::parse;

// Rank r (coordinates dp = r / 2, tp = r % 2) holds x_r = [[10r+1, 10r+2], [10r+3, 10r+4]].
Tensor input(int r) {
  double b = 10.0 * r;
  return Tensor(DType::F32, {2, 2}, {b + 1, b + 2, b + 3, b + 4});
}

StatusOr<std::vector<std::vector<Tensor>>> runAll(const ir::Module& m, const std::string& fn,
                                                  partition::ExecutorOptions o = {}) {
  const ir::Function* f = m.findFunction(fn);
  std::vector<const ir::Function*> programs(4, f);
  std::vector<std::vector<Tensor>> inputs;
  for (int r = 0; r < 4; ++r) inputs.push_back({input(r)});
  return partition::runRanks(m.meshes[0], programs, inputs, o);
}

const char* kCollectives = R"(
module @c {
  mesh @m = <dp=2, tp=2>
  func @main(%x: f32[2,2]) -> (f32[2,2], f32[4,2], f32[1,2], f32[4,1], f32[2,2], f32[2,2], i64[], i64[]) {
    %sum = all_reduce %x axes=[tp] op=sum : f32[2,2]
    %gat = all_gather %x axes=[dp] dim=0 : f32[4,2]
    %rs = reduce_scatter %x axes=[tp] dim=0 op=sum : f32[1,2]
    %a2a = all_to_all %x axes=[tp] split_dim=1 concat_dim=0 : f32[4,1]
    %max = all_reduce %x axes=[dp,tp] op=max : f32[2,2]
    %perm = collective_permute %x axes=[dp] pairs=[0,1] : f32[2,2]
    %i = axis_index axes=[tp] : i64[]
    %j = axis_index axes=[dp,tp] : i64[]
    return %sum, %gat, %rs, %a2a, %max, %perm, %i, %j
  }
}
)";

TEST(SimulatedCollectives, EveryCollectiveOnA2x2Mesh) {
  auto m = parse(kCollectives);
  ASSERT_TRUE(m);
  auto out = runAll(*m, "main");
  ASSERT_TRUE(out.isOk()) << out.status().message();
  for (int r = 0; r < 4; ++r) {
    const int dp = r / 2, tp = r % 2;
    const int peer = dp * 2 + (1 - tp);  // the other member of r's tp group
    const auto& o = (*out)[r];
    // all_reduce over tp: x_r + x_peer elementwise.
    std::vector<double> sum;
    for (int i = 0; i < 4; ++i) sum.push_back(input(r)[i] + input(peer)[i]);
    EXPECT_EQ(o[0].data(), sum) << "rank " << r;
    // all_gather over dp along dim 0: x of (dp=0, tp) stacked over x of (dp=1, tp).
    std::vector<double> gat = input(tp).data();
    const Tensor lower = input(2 + tp);
    for (double v : lower.data()) gat.push_back(v);
    EXPECT_EQ(o[1].data(), gat) << "rank " << r;
    // reduce_scatter over tp along dim 0: row `tp` of the sum.
    EXPECT_EQ(o[2].data(), (std::vector<double>{sum[2 * tp], sum[2 * tp + 1]})) << "rank " << r;
    // all_to_all over tp: column `tp` of each member's x, member 0's column first.
    const int m0 = dp * 2, m1 = dp * 2 + 1;
    EXPECT_EQ(o[3].data(), (std::vector<double>{input(m0)[tp], input(m0)[2 + tp], input(m1)[tp],
                                                input(m1)[2 + tp]}))
        << "rank " << r;
    // max over all four ranks: rank 3's x.
    EXPECT_EQ(o[4].data(), input(3).data()) << "rank " << r;
    // permute 0 -> 1 along dp: dp=1 receives dp=0's x, dp=0 receives nothing (zeros).
    EXPECT_EQ(o[5].data(), dp == 1 ? input(tp).data() : std::vector<double>(4, 0.0)) << "rank " << r;
    EXPECT_EQ(o[6][0], tp);
    EXPECT_EQ(o[7][0], r);
  }
}

TEST(SimulatedCollectives, RunTwiceIsBitwiseEqual) {
  auto m = parse(kCollectives);
  ASSERT_TRUE(m);
  auto a = runAll(*m, "main"), b = runAll(*m, "main");
  ASSERT_TRUE(a.isOk() && b.isOk());
  EXPECT_EQ(*a, *b);
}

TEST(SimulatedCollectives, TheReferenceInterpreterAloneRefusesThem) {
  auto m = parse(kCollectives);
  ASSERT_TRUE(m);
  auto r = ir::interpret(*m->findFunction("main"), std::vector<Tensor>{input(0)});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("needs the distributed runtime"), std::string::npos)
      << r.status().message();
}

// Rank 0 and 1 run programs whose tp collectives differ: an error naming the mismatch, no hang.
TEST(SimulatedCollectives, MismatchedCollectivesFailInsteadOfHanging) {
  auto m = parse(R"(
module @c {
  mesh @m = <dp=2, tp=2>
  func @a(%x: f32[2,2]) -> (f32[2,2]) {
    %s = all_reduce %x axes=[tp] op=sum : f32[2,2]
    return %s
  }
  func @b(%x: f32[2,2]) -> (f32[2,2]) {
    %s = all_reduce %x axes=[tp] op=max : f32[2,2]
    return %s
  }
}
)");
  ASSERT_TRUE(m);
  const ir::Function* a = m->findFunction("a");
  const ir::Function* b = m->findFunction("b");
  std::vector<std::vector<Tensor>> inputs;
  for (int r = 0; r < 4; ++r) inputs.push_back({input(r)});
  auto out = partition::runRanks(m->meshes[0], {a, b, a, b}, inputs);
  ASSERT_FALSE(out.isOk());
  EXPECT_NE(out.status().message().find("mismatched collectives"), std::string::npos)
      << out.status().message();
}

TEST(SimulatedCollectives, AMissingPeerTimesOutNamingTheRankAndCollective) {
  auto m = parse(R"(
module @c {
  mesh @m = <dp=2, tp=2>
  func @a(%x: f32[2,2]) -> (f32[2,2]) {
    %s = all_reduce %x axes=[tp] op=sum : f32[2,2]
    return %s
  }
  func @idle(%x: f32[2,2]) -> (f32[2,2]) {
    return %x
  }
}
)");
  ASSERT_TRUE(m);
  const ir::Function* a = m->findFunction("a");
  const ir::Function* idle = m->findFunction("idle");
  std::vector<std::vector<Tensor>> inputs;
  for (int r = 0; r < 4; ++r) inputs.push_back({input(r)});
  partition::ExecutorOptions o;
  o.timeout = std::chrono::milliseconds(200);
  auto out = partition::runRanks(m->meshes[0], {a, idle, a, a}, inputs, o);
  ASSERT_FALSE(out.isOk());
  const std::string& msg = out.status().message();
  EXPECT_NE(msg.find("rank 0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("all_reduce"), std::string::npos) << msg;
  EXPECT_NE(msg.find("timed out"), std::string::npos) << msg;
}

TEST(SimulatedCollectives, AFailingRankStopsTheOthers) {
  // Rank 1's gather reads row 5 of a 2-row table: its own error is reported, and ranks waiting
  // for it in the all_reduce stop instead of timing out (the timeout here is long).
  auto m = parse(R"(
module @c {
  mesh @m = <dp=2, tp=2>
  func @a(%x: f32[2,2]) -> (f32[2,2]) {
    %s = all_reduce %x axes=[tp] op=sum : f32[2,2]
    return %s
  }
  func @bad(%x: f32[2,2]) -> (f32[2,2]) {
    %i = constant value=dense<i64[2], [5, 0]> : i64[2]
    %g = gather %x, %i axis=0 : f32[2,2]
    %s = all_reduce %g axes=[tp] op=sum : f32[2,2]
    return %s
  }
}
)");
  ASSERT_TRUE(m);
  std::vector<std::vector<Tensor>> inputs;
  for (int r = 0; r < 4; ++r) inputs.push_back({input(r)});
  partition::ExecutorOptions o;
  o.timeout = std::chrono::milliseconds(60000);
  auto out = partition::runRanks(m->meshes[0],
                                 {m->findFunction("a"), m->findFunction("bad"),
                                  m->findFunction("a"), m->findFunction("a")},
                                 inputs, o);
  ASSERT_FALSE(out.isOk());
  EXPECT_EQ(out.status().message(),
            "error: rank 1: test.tir:10:5: error: gather: index 5 at flat position 0 of the "
            "indices [2] is out of range [0, 2)");
}

}  // namespace
}  // namespace tessera
