// Collective times by the ring formulas for 8 GPUs inside a node and 16 across two nodes, the
// hierarchical all-reduce, and the groups that mesh axes form on a cluster.
#include <gtest/gtest.h>

#include "ir/Module.h"
#include "partition/cost/CollectiveCost.h"

namespace tessera::partition::cost {
namespace {

constexpr double S = 1e9;  // bytes
// a100 defaults (nccl-tests figures, ClusterSpec.cpp): NVLink 300 GB/s per direction of which
// NCCL reaches 232.5, 5 us per step; IB 25 GB/s of which 24, 6 us per step.
constexpr double kNv = 232.5e9, kNvLat = 5e-6, kIb = 24e9, kIbLat = 6e-6;

ClusterSpec cluster(const char* s) {
  auto c = parseClusterShorthand(s);
  EXPECT_TRUE(c.isOk()) << c.status().message();
  return *c;
}

std::vector<int64_t> range(int64_t n, int64_t stride = 1) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(i * stride);
  return v;
}

TEST(CollectiveCost, EightGpusInsideANode) {
  ClusterSpec c = cluster("1x8:a100-80g");
  GroupShape g = groupShape(range(8), c);
  EXPECT_EQ(g.level, 0);
  auto ar = estimateCollective(CollectiveKind::AllReduce, S, g, c);
  EXPECT_NEAR(ar.seconds, 2.0 * 7 / 8 * S / kNv + 14 * kNvLat, 1e-12);
  EXPECT_FALSE(ar.hierarchical);
  EXPECT_NEAR(estimateCollective(CollectiveKind::AllGather, S, g, c).seconds, 7.0 / 8 * S / kNv + 7 * kNvLat, 1e-12);
  EXPECT_NEAR(estimateCollective(CollectiveKind::ReduceScatter, S, g, c).seconds, 7.0 / 8 * S / kNv + 7 * kNvLat, 1e-12);
  EXPECT_NEAR(estimateCollective(CollectiveKind::AllToAll, S, g, c).seconds, 7.0 / 8 * S / kNv + 7 * kNvLat, 1e-12);
  EXPECT_NEAR(estimateCollective(CollectiveKind::Broadcast, S, g, c).seconds, S / kNv + 7 * kNvLat, 1e-12);
  EXPECT_NEAR(estimateCollective(CollectiveKind::SendRecv, S, groupShape({0, 1}, c), c).seconds,
              S / kNv + kNvLat, 1e-12);
}

TEST(CollectiveCost, SixteenGpusAcrossTwoNodes) {
  ClusterSpec c = cluster("2x8:a100-80g");
  GroupShape g = groupShape(range(16), c);
  EXPECT_EQ(g.level, 1);
  ASSERT_EQ(g.factors, (std::vector<int64_t>{8, 2}));
  double flat = 2.0 * 15 / 16 * S / kIb + 30 * kIbLat;
  // reduce-scatter + all-gather inside each node on S, all-reduce of S/8 between the two nodes.
  double hier = 2 * (7.0 / 8 * S / kNv + 7 * kNvLat) + (2.0 * 1 / 2 * (S / 8) / kIb + 2 * kIbLat);
  EXPECT_NEAR(flatSeconds(CollectiveKind::AllReduce, S, g, c), flat, 1e-12);
  EXPECT_NEAR(hierarchicalAllReduceSeconds(S, g, c), hier, 1e-12);
  auto ar = estimateCollective(CollectiveKind::AllReduce, S, g, c);
  EXPECT_TRUE(ar.hierarchical);
  EXPECT_NEAR(ar.seconds, std::min(flat, hier), 1e-12);
  EXPECT_NEAR(estimateCollective(CollectiveKind::AllGather, S, g, c).seconds, 15.0 / 16 * S / kIb + 15 * kIbLat, 1e-12);
  // The same 16 GPUs are slower than 8 inside a node.
  EXPECT_GT(ar.seconds, estimateCollective(CollectiveKind::AllReduce, S, groupShape(range(8), c), c).seconds);
  // A tiny message: latency dominates and the flat ring (30 IB steps) loses to 2*7 + 2 steps.
  auto tiny = estimateCollective(CollectiveKind::AllReduce, 8, g, c);
  EXPECT_NEAR(tiny.seconds, std::min(2.0 * 15 / 16 * 8 / kIb + 30 * kIbLat,
                                     2 * (7.0 / 8 * 8 / kNv + 7 * kNvLat) + (1.0 * 1 / kIb + 2 * kIbLat)),
              1e-15);
}

TEST(CollectiveCost, OneRankCostsNothing) {
  ClusterSpec c = cluster("1x8:a100-80g");
  EXPECT_EQ(estimateCollective(CollectiveKind::AllReduce, S, groupShape({3}, c), c).seconds, 0.0);
}

TEST(CollectiveCost, MeshAxesFormGroupsByDeviceOrder) {
  ClusterSpec c = cluster("2x8:a100-80g");
  ir::Mesh dpTp = ir::Mesh::make("m", {{"dp", 2}, {"tp", 8}});
  auto tp = axisGroup(dpTp, {"tp"}, c);
  ASSERT_TRUE(tp.isOk());
  EXPECT_EQ(*tp, range(8));
  EXPECT_EQ(groupShape(*tp, c).level, 0);
  auto dp = axisGroup(dpTp, {"dp"}, c);
  ASSERT_TRUE(dp.isOk());
  EXPECT_EQ(*dp, (std::vector<int64_t>{0, 8}));
  GroupShape gdp = groupShape(*dp, c);
  EXPECT_EQ(gdp.level, 1);
  EXPECT_EQ(gdp.factors, (std::vector<int64_t>{1, 2}));
  // Rank 9 (dp=1, tp=1): its tp group is the second node.
  auto tp9 = axisGroup(dpTp, {"tp"}, c, 9);
  ASSERT_TRUE(tp9.isOk());
  EXPECT_EQ(tp9->front(), 8);
  // tp as the outer axis: its group strides over both nodes.
  ir::Mesh tpDp = ir::Mesh::make("m", {{"tp", 8}, {"dp", 2}});
  auto tp2 = axisGroup(tpDp, {"tp"}, c);
  ASSERT_TRUE(tp2.isOk());
  EXPECT_EQ(*tp2, range(8, 2));
  GroupShape g2 = groupShape(*tp2, c);
  EXPECT_EQ(g2.level, 1);
  EXPECT_EQ(g2.factors, (std::vector<int64_t>{4, 2}));
  // Both axes: all 16.
  auto all = axisGroup(dpTp, {"dp", "tp"}, c);
  ASSERT_TRUE(all.isOk());
  EXPECT_EQ(all->size(), 16u);
}

TEST(CollectiveCost, Errors) {
  ClusterSpec c = cluster("1x8:a100-80g");
  ir::Mesh m = ir::Mesh::make("m", {{"dp", 2}, {"tp", 8}});
  auto big = axisGroup(m, {"tp"}, c);
  ASSERT_FALSE(big.isOk());
  EXPECT_NE(big.status().message().find("16 devices"), std::string::npos) << big.status().message();
  ir::Mesh small = ir::Mesh::make("m", {{"tp", 8}});
  auto noAxis = axisGroup(small, {"ep"}, c);
  ASSERT_FALSE(noAxis.isOk());
  EXPECT_NE(noAxis.status().message().find("no axis 'ep'"), std::string::npos);
}

TEST(CollectiveCost, FromAnIrOp) {
  ClusterSpec c = cluster("2x8:a100-80g");
  ir::Module mod("t");
  mod.meshes.push_back(ir::Mesh::make("m", {{"dp", 2}, {"tp", 8}}));
  ir::Function* f = mod.addFunction("f");
  ir::Value* x = f->addArgument({ir::DType::BF16, {ir::Dim::symbol("T"), 1024}});
  auto ar = f->addOp({ir::OpKind::AllReduce, {x}, {{"axes", ir::AxisList{{"tp"}}}}, {}, {}});
  ASSERT_TRUE(ar.isOk()) << ar.status().message();
  auto e = estimateCollectiveOp(**ar, {{"T", 512}}, mod.meshes[0], c);
  ASSERT_TRUE(e.isOk()) << e.status().message();
  const double bytes = 512.0 * 1024 * 2;
  EXPECT_DOUBLE_EQ(e->bytes, bytes);
  EXPECT_EQ(e->axes, "tp");
  EXPECT_NEAR(e->seconds, 2.0 * 7 / 8 * bytes / kNv + 14 * kNvLat, 1e-15);
  auto ag = f->addOp({ir::OpKind::AllGather, {x}, {{"axes", ir::AxisList{{"dp"}}}, {"dim", int64_t{0}}}, {}, {}});
  ASSERT_TRUE(ag.isOk()) << ag.status().message();
  auto g = estimateCollectiveOp(**ag, {{"T", 512}}, mod.meshes[0], c);
  ASSERT_TRUE(g.isOk());
  EXPECT_DOUBLE_EQ(g->bytes, 2 * bytes);  // S is the gathered result
  EXPECT_NEAR(g->seconds, 1.0 / 2 * 2 * bytes / kIb + kIbLat, 1e-15);
}

}  // namespace
}  // namespace tessera::partition::cost
