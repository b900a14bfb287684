// Send/recv and collectives already in global programs, through sharding propagation, the SPMD
// partitioner, the in-process executor and the ordering check (issue 6, composition): two
// hand-written "stage" programs on a pp=2 x dp=2 mesh exchange a dp-split activation and a
// gradient and all_reduce over pp. Expected layouts are derived by hand from the factor rules;
// numbers are checked against the same programs run unpartitioned on a pp-only mesh.
#include <gtest/gtest.h>

#include <cmath>

#include "ir/Printer.h"
#include "partition/check/CollectiveOrder.h"
#include "partition/check/PointToPoint.h"
#include "partition/exec/InProcessExecutor.h"
#include "partition/plan/PartitionStep.h"
#include "partition/propagation/Propagation.h"
#include "tests/support/PartitionTestUtil.h"
#include "tests/support/SplitMix64.h"

namespace tessera::partition {
namespace {

using ir::Tensor;
using testing::parse;
using testing::valueNamed;

// Stage 0 computes a = tanh(x @ w) (w annotated replicated), sends it, receives g = a * a back, and sums g over the batch
// (a partial sum under dp); both stages all_reduce a tensor over pp (the tied-gradient pattern).
std::string programs(const std::string& mesh, const std::string& xSharding) {
  return R"(module @p {
  mesh @m = <)" + mesh + R"(>
  func @stage0(%x: f32[8,4])" + xSharding + R"(, %w: f32[4,4] {-, -}) -> (f32[4], f32[8,4]) {
    %h = matmul %x, %w : f32[8,4]
    %a = tanh %h : f32[8,4]
    send %a axes=[pp] peer=1
    %g = recv axes=[pp] peer=1 : f32[8,4]
    %dw = reduce_sum %g axes=[0] : f32[4]
    %t = all_reduce %a axes=[pp] op=sum : f32[8,4]
    return %dw, %t
  }
  func @stage1(%v: f32[8,4]) -> (f32[8,4], f32[8,4]) {
    %r = recv axes=[pp] peer=0 : f32[8,4]
    %y = mul %r, %r : f32[8,4]
    send %y axes=[pp] peer=0
    %t = all_reduce %v axes=[pp] op=sum : f32[8,4]
    %z = add %r, %t : f32[8,4]
    return %y, %z
  }
}
)";
}

Tensor randomTensor(std::vector<int64_t> shape, uint64_t seed) {
  testing_support::SplitMix64 rng{seed};
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(rng.uniform(-1.0, 1.0));
  return Tensor(ir::DType::F32, shape, v);
}

std::vector<const ir::Function*> perRank(const ir::Module& m, int dp) {
  std::vector<const ir::Function*> out;
  for (const char* f : {"stage0", "stage1"})
    for (int d = 0; d < dp; ++d) out.push_back(m.findFunction(f));
  return out;
}

TEST(SendRecv, PairsAreMatchedPerLinkInOrder) {
  auto m = parse(programs("pp=2, dp=2", ""));
  ASSERT_TRUE(m);
  auto pairs = matchPointToPoint(m->meshes[0], perRank(*m, 2));
  ASSERT_TRUE(pairs.isOk()) << pairs.status().message();
  // Two messages per dp coordinate: rank (pp0,dp d) <-> (pp1,dp d), i.e. 0<->2 and 1<->3.
  ASSERT_EQ(pairs->size(), 4u);
  for (const P2PMatch& p : *pairs) {
    EXPECT_EQ(std::abs(p.from - p.to), 2) << p.from << "->" << p.to;
    EXPECT_EQ(p.send->operand(0)->type(), p.recv->result()->type());
  }
}

TEST(SendRecv, ReceiveTakesTheLayoutOfItsSend) {
  auto m = parse(programs("pp=2, dp=2", " {dp, -}"));
  ASSERT_TRUE(m);
  const ir::Mesh& mesh = m->meshes[0];
  auto pairs = matchPointToPoint(mesh, perRank(*m, 2));
  ASSERT_TRUE(pairs.isOk()) << pairs.status().message();
  std::vector<std::pair<const ir::Op*, const ir::Op*>> transfers;
  for (const P2PMatch& p : *pairs) transfers.emplace_back(p.send, p.recv);
  ir::Function* s0 = m->findFunction("stage0");
  ir::Function* s1 = m->findFunction("stage1");
  auto plan = propagateShardingsJointly({s0, s1}, mesh, transfers);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  // x's dp split runs through matmul and tanh to the send, across to stage 1's receive, through
  // the mul, back to stage 0's receive; the batch sum makes dw partial over dp.
  EXPECT_EQ(valueNamed(*s0, "a")->sharding()->str(), "{dp, -}");
  EXPECT_EQ(valueNamed(*s1, "r")->sharding()->str(), "{dp, -}");
  EXPECT_EQ(valueNamed(*s1, "y")->sharding()->str(), "{dp, -}");
  EXPECT_EQ(valueNamed(*s0, "g")->sharding()->str(), "{dp, -}");
  EXPECT_EQ(valueNamed(*s0, "dw")->sharding()->str(), "{-} partial{dp:sum}");
  // The all_reduce over pp keeps the dp split of its operand; pp itself splits nothing.
  EXPECT_EQ(valueNamed(*s0, "t")->sharding()->str(), "{dp, -}");
  // Stage 1's %v has no annotation of its own: it meets %r (dp-split) at the add, through %t.
  EXPECT_EQ(valueNamed(*s1, "v")->sharding()->str(), "{dp, -}");
  // Without the transfers, stage 1 knows nothing of the split.
  auto m2 = parse(programs("pp=2, dp=2", " {dp, -}"));
  ASSERT_TRUE(m2);
  auto alone = propagateShardings(*m2->findFunction("stage1"), m2->meshes[0]);
  ASSERT_TRUE(alone.isOk());
  EXPECT_EQ(valueNamed(*m2->findFunction("stage1"), "r")->sharding()->str(), "{-, -}");
}

struct Partitioned {
  std::unique_ptr<ir::Module> m;
  StatusOr<PartitionedPrograms> parts = Status::error("not run");
};

Partitioned partitionDp(int dp) {
  Partitioned p;
  p.m = parse(programs("pp=2, dp=" + std::to_string(dp), ""));
  if (!p.m) return p;
  PartitionStepOptions o{p.m->meshes[0], {}, {}};
  o.presets.dataParallel = true;  // x (no module parameter of its name) is data: dim 0 on dp
  p.parts = partitionPrograms(*p.m, {"stage0", "stage1"}, "pp", o);
  return p;
}

TEST(SendRecv, PartitionedProgramsKeepTheirCommunicationOnLocalPieces) {
  Partitioned p = partitionDp(2);
  ASSERT_TRUE(p.parts.isOk()) << p.parts.status().message();
  ASSERT_EQ(p.parts->programs.size(), 2u);
  EXPECT_EQ(p.parts->programOfRank, (std::vector<int>{0, 0, 1, 1}));
  std::string s0 = ir::printModule(*p.parts->programs[0].module);
  std::string s1 = ir::printModule(*p.parts->programs[1].module);
  // Each dp coordinate sends its half of the batch (4 of 8 rows) to the same coordinate of pp 1.
  EXPECT_NE(s0.find("send %a axes=[pp] peer=1"), std::string::npos) << s0;
  EXPECT_NE(s0.find("recv axes=[pp] peer=1 : f32[4,4]"), std::string::npos) << s0;
  EXPECT_NE(s1.find("recv axes=[pp] peer=0 : f32[4,4]"), std::string::npos) << s1;
  EXPECT_NE(s0.find("all_reduce %a axes=[pp] op=sum : f32[4,4]"), std::string::npos) << s0;
  // w is annotated replicated (the dp preset would treat it as data); the batch sum stays a
  // pending partial sum over dp in the result (propagation's natural layout), nothing on dp.
  EXPECT_EQ(p.parts->programs[0].resultShardings[0].str(), "{-} partial{dp:sum}");
  EXPECT_EQ(s0.find("axes=[dp]"), std::string::npos) << s0;
  EXPECT_EQ(s1.find("axes=[dp]"), std::string::npos) << s1;
}

TEST(SendRecv, PartitionedRunEqualsTheUnpartitionedPrograms) {
  Tensor x = randomTensor({8, 4}, 1), w = randomTensor({4, 4}, 2), v = randomTensor({8, 4}, 3);
  // Reference: the global programs, one device per pipeline rank.
  auto ref = parse(programs("pp=2", ""));
  ASSERT_TRUE(ref);
  auto want = runRanks(ref->meshes[0], perRank(*ref, 1), {{x, w}, {v}});
  ASSERT_TRUE(want.isOk()) << want.status().message();
  for (int dp : {2, 4}) {
    SCOPED_TRACE("dp=" + std::to_string(dp));
    Partitioned p = partitionDp(dp);
    ASSERT_TRUE(p.parts.isOk()) << p.parts.status().message();
    auto got = runSpmdPrograms(p.parts->programs, "pp", {{x, w}, {v}});
    ASSERT_TRUE(got.isOk()) << got.status().message();
    for (int r = 0; r < 2; ++r) {
      ASSERT_EQ((*got)[r].size(), (*want)[r].size());
      for (size_t k = 0; k < (*want)[r].size(); ++k) {
        const Tensor& g = (*got)[r][k];
        const Tensor& e = (*want)[r][k];
        ASSERT_EQ(g.shape(), e.shape());
        for (int64_t i = 0; i < e.numElements(); ++i)
          EXPECT_NEAR(g[i], e[i], 1e-6 * std::max(1.0, std::abs(e[i]))) << "stage " << r << " result " << k;
      }
    }
  }
  // The reference itself: stage 1's first result is a*a with a = tanh(x @ w), by hand.
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      double h = 0;
      for (int64_t k = 0; k < 4; ++k) h += x[i * 4 + k] * w[k * 4 + j];
      double a = std::tanh(h);
      EXPECT_NEAR((*want)[1][0][i * 4 + j], a * a, 1e-6);
    }
}

TEST(SendRecv, OrderCheckRejectsAMissingSend) {
  Partitioned p = partitionDp(2);
  ASSERT_TRUE(p.parts.isOk()) << p.parts.status().message();
  const ir::Mesh& mesh = *p.parts->programs[0].mesh;
  EXPECT_TRUE(checkCollectiveOrder(mesh, p.parts->rankPrograms()).isOk());
  // Stage 1 forgets to send y back: stage 0 would wait for it forever.
  ir::Function* s1 = p.parts->programs[1].local;
  for (const auto& op : s1->ops())
    if (op->kind() == ir::OpKind::Send) {
      s1->eraseOp(op.get());
      break;
    }
  Status st = checkCollectiveOrder(mesh, p.parts->rankPrograms());
  ASSERT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("the programs hang"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("rank 0 waits at its 1-th send/recv 'recv"), std::string::npos) << st.message();
  // Stage 1 went on to its all_reduce over pp, which stage 0 never reaches.
  EXPECT_NE(st.message().find("rank 2 waits at its 1-th communication 'all_reduce"), std::string::npos)
      << st.message();
  // Run anyway: the receive times out with the rank named, no hang.
  Tensor x = randomTensor({8, 4}, 1), w = randomTensor({4, 4}, 2), v = randomTensor({8, 4}, 3);
  auto got = runSpmdPrograms(p.parts->programs, "pp", {{x, w}, {v}}, {std::chrono::milliseconds(300)});
  ASSERT_FALSE(got.isOk());
  EXPECT_NE(got.status().message().find("timed out"), std::string::npos) << got.status().message();
}

TEST(SendRecv, MismatchedMessagesAndBadPlansAreErrors) {
  auto m = parse(R"(module @p {
  mesh @m = <pp=2>
  func @a(%x: f32[4]) -> (f32[4]) {
    send %x axes=[pp] peer=1
    return %x
  }
  func @b(%x: f32[4]) -> (f32[3]) {
    %r = recv axes=[pp] peer=0 : f32[3]
    return %r
  }
  func @c(%x: f32[4]) -> (f32[4]) {
    return %x
  }
})");
  ASSERT_TRUE(m);
  const ir::Mesh& mesh = m->meshes[0];
  const ir::Function* a = m->findFunction("a");
  const ir::Function* b = m->findFunction("b");
  const ir::Function* c = m->findFunction("c");
  Status st = checkCollectiveOrder(mesh, {a, b});
  ASSERT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("rank 0 sends f32[4]"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("rank 1 receives f32[3]"), std::string::npos) << st.message();
  auto run = runRanks(mesh, {a, b}, {{Tensor(ir::DType::F32, {4})}, {Tensor(ir::DType::F32, {4})}});
  ASSERT_FALSE(run.isOk());
  EXPECT_NE(run.status().message().find("receives f32[3] but rank 0 sent f32[4]"), std::string::npos)
      << run.status().message();
  // A send nobody receives.
  auto unmatched = matchPointToPoint(mesh, {a, c});
  ASSERT_FALSE(unmatched.isOk());
  EXPECT_NE(unmatched.status().message().find("has no matching receive on rank 1"), std::string::npos)
      << unmatched.status().message();
  // partitionPrograms: the pipeline axis must exist and have one program per coordinate, and no
  // preset may split along it.
  auto m2 = parse(programs("pp=2, dp=2", ""));
  ASSERT_TRUE(m2);
  PartitionStepOptions o{m2->meshes[0], {}, {}};
  EXPECT_NE(partitionPrograms(*m2, {"stage0"}, "pp", o).status().message().find("has size 2 but 1 programs"),
            std::string::npos);
  EXPECT_NE(partitionPrograms(*m2, {"stage0", "stage1"}, "qq", o).status().message().find("has no axis 'qq'"),
            std::string::npos);
  o.presets.dataParallel = true;
  o.presets.dpAxis = "pp";
  EXPECT_NE(partitionPrograms(*m2, {"stage0", "stage1"}, "pp", o).status().message().find("a preset splits over 'pp'"),
            std::string::npos);
}

}  // namespace
}  // namespace tessera::partition
