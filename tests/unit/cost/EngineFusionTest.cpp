// The CPU engine's fusion as the cost model prices it (cost/EngineFusion.h), and the two-regime
// shared-memory link (ClusterSpec.h NetworkLevel::largeBytes): expected values by hand.
#include <gtest/gtest.h>

#include "ir/Module.h"
#include "partition/cost/CollectiveCost.h"
#include "partition/cost/EngineFusion.h"
#include "partition/cost/ProgramCost.h"
#include "partition/sim/Simulator.h"

namespace tessera::partition::cost {
namespace {

using ir::DType;
using ir::OpKind;

ir::Op* add(ir::Function* f, OpKind k, std::vector<ir::Value*> in,
            std::vector<std::pair<std::string, ir::AttrValue>> attrs = {},
            std::vector<ir::TensorType> decl = {}) {
  auto r = f->addOp({k, std::move(in), std::move(attrs), std::move(decl), {}});
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return *r;
}

constexpr int64_t R = 64, C = 32;

// x: f32[R, C], w: f32[C, C]
//   t = transpose(w)               a view (a BLAS transpose flag)
//   two = full 2.0                 a leaf
//   a = x * two                    group G
//   b = a + x                      G (a is read twice inside G: never stored)
//   e = a - b                      G
//   y = matmul(e, t)               a GEMM: reads e, so e is stored; G is sealed
//   s = reduce_sum(y, axis 1)      a new group H (G is sealed, and y comes from the GEMM)
//   return y, s
struct Program {
  ir::Module m{"t"};
  ir::Function* f = nullptr;
  ir::Op *t = nullptr, *two = nullptr, *a = nullptr, *b = nullptr, *e = nullptr, *y = nullptr,
         *s = nullptr;
  Program() {
    f = m.addFunction("f");
    ir::Value* x = f->addArgument({DType::F32, {R, C}}, "x");
    ir::Value* w = f->addArgument({DType::F32, {C, C}}, "w");
    t = add(f, OpKind::Transpose, {w}, {{"perm", std::vector<int64_t>{1, 0}}});
    two = add(f, OpKind::Full, {}, {{"value", 2.0}}, {{DType::F32, {}}});
    a = add(f, OpKind::Mul, {x, two->result(0)});
    b = add(f, OpKind::Add, {a->result(0), x});
    e = add(f, OpKind::Sub, {a->result(0), b->result(0)});
    y = add(f, OpKind::Matmul, {e->result(0), t->result(0)});
    s = add(f, OpKind::ReduceSum, {y->result(0)},
            {{"axes", std::vector<int64_t>{1}}, {"keepdims", false}});
    f->setResults({y->result(0), s->result(0)});
  }
  size_t at(const ir::Op* op) const { return static_cast<size_t>(f->indexOf(op)); }
};

TEST(EngineFusion, GroupsFollowTheEnginesRule) {
  Program p;
  std::vector<int> g = engineFusionGroups(*p.f);
  EXPECT_EQ(g[p.at(p.t)], -1);
  EXPECT_EQ(g[p.at(p.two)], -1);
  EXPECT_EQ(g[p.at(p.y)], -1);
  ASSERT_GE(g[p.at(p.a)], 0);
  EXPECT_EQ(g[p.at(p.b)], g[p.at(p.a)]);
  EXPECT_EQ(g[p.at(p.e)], g[p.at(p.a)]);
  ASSERT_GE(g[p.at(p.s)], 0);
  EXPECT_NE(g[p.at(p.s)], g[p.at(p.a)]);
}

TEST(EngineFusion, AGroupReadsItsInputsOnceAndWritesWhatLeavesIt) {
  Program p;
  auto costs = engineProgramCosts(*p.f, {});
  ASSERT_TRUE(costs.isOk()) << costs.status().message();
  const auto& c = *costs;
  const double tensor = 4.0 * R * C;
  // View and leaf: nothing.
  for (const ir::Op* op : {p.t, p.two}) {
    EXPECT_FALSE(c[p.at(op)].launchesKernel);
    EXPECT_EQ(c[p.at(op)].bytes(), 0.0);
  }
  // G's first members carry nothing; its last (e) the kernel: x read once, e written once,
  // 3 flops per element, one launch.
  EXPECT_FALSE(c[p.at(p.a)].launchesKernel);
  EXPECT_FALSE(c[p.at(p.b)].launchesKernel);
  EXPECT_TRUE(c[p.at(p.a)].fused);  // a never exists in memory
  const OpCost& k = c[p.at(p.e)];
  EXPECT_TRUE(k.launchesKernel);
  EXPECT_FALSE(k.fused);
  EXPECT_EQ(k.kernelOps, 3);
  EXPECT_DOUBLE_EQ(k.bytesRead, tensor);
  EXPECT_DOUBLE_EQ(k.bytesWritten, tensor);
  EXPECT_DOUBLE_EQ(k.flops, 3.0 * R * C);
  // The GEMM reads e and w (the transpose is a view of w) and writes y.
  const OpCost& mm = c[p.at(p.y)];
  EXPECT_DOUBLE_EQ(mm.bytesRead, tensor + 4.0 * C * C);
  EXPECT_DOUBLE_EQ(mm.flops, 2.0 * R * C * C);
  // The consumer rule, for contrast: a (two uses) is stored and read back twice, the transpose
  // copies w.
  auto consumer = programCosts(*p.f, {}, true);
  ASSERT_TRUE(consumer.isOk());
  EXPECT_DOUBLE_EQ((*consumer)[p.at(p.a)].bytesWritten, tensor);
  EXPECT_DOUBLE_EQ((*consumer)[p.at(p.t)].bytes(), 2 * 4.0 * C * C);
}

TEST(EngineFusion, SimulatorPricesTheGroupAsOneKernel) {
  Program p;
  auto c = parseClusterShorthand("1x1:cpu");
  ASSERT_TRUE(c.isOk());
  const DeviceSpec& d = c->device;  // 96 GFLOP/s, 10 GB/s, 1 us launch, gemm (0.8, 24)
  sim::SimOptions o;
  o.fusion = FusionRule::Engine;
  auto r = sim::simulate(*p.f, ir::Mesh::make("m", {}), *c, o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const double tensor = 4.0 * R * C, bw = d.memoryBandwidth * d.memoryEfficiency;
  const double group = std::max(3.0 * R * C / d.vectorPeak, 2 * tensor / bw) + d.launchOverhead;
  const double eff = 0.8 * (64.0 / 88) * (32.0 / 56) * (32.0 / 56);
  const double gemm = std::max(2.0 * R * C * C / (96e9 * eff), (2 * tensor + 4.0 * C * C) / bw) +
                      d.launchOverhead;
  // reduce_sum: reads y, writes R floats, C flops per row.
  const double reduce = std::max(1.0 * R * C / d.vectorPeak, (tensor + 4.0 * R) / bw) + d.launchOverhead;
  EXPECT_NEAR(r->computeSeconds, group + gemm + reduce, 1e-15);
  EXPECT_NEAR(r->computeByKind.at("fused kernel"), group, 1e-15);
}

TEST(LinkRegimes, LargeMessagesUseTheirOwnBandwidth) {
  NetworkLevel l;
  l.bandwidth = 1e9;
  l.latency = 2e-6;
  l.largeBytes = 2e6;
  l.largeBandwidth = 0.25e9;
  // A 2-rank all-reduce moves S per rank in 2 steps.
  EXPECT_DOUBLE_EQ(ringSeconds(CollectiveKind::AllReduce, 1e6, 2, l), 4e-6 + 1e6 / 1e9);
  EXPECT_DOUBLE_EQ(ringSeconds(CollectiveKind::AllReduce, 4e6, 2, l), 4e-6 + 4e6 / 0.25e9);
  l.largeBytes = 0;  // one regime
  EXPECT_DOUBLE_EQ(ringSeconds(CollectiveKind::AllReduce, 4e6, 2, l), 4e-6 + 4e6 / 1e9);
}

TEST(LinkRegimes, ClusterFileAndTimeSharing) {
  auto c = parseClusterFile(
      "device cpu\nnodes 1\ndevices_per_node 2\nlevel shm bandwidth=1GB/s latency=2us large=2MB:0.25GB/s\n",
      "c.cluster");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_DOUBLE_EQ(c->levels[0].largeBytes, 2e6);
  EXPECT_DOUBLE_EQ(c->levels[0].largeBandwidth, 0.25e9);
  auto t = timeShared(*c, 4);  // 4 ranks on 2 devices: half of every rate
  ASSERT_TRUE(t.isOk());
  EXPECT_DOUBLE_EQ(t->levels[0].largeBandwidth, 0.125e9);
  EXPECT_DOUBLE_EQ(t->levels[0].largeBytes, 2e6);
  auto bad = parseClusterFile("device cpu\nlevel shm bandwidth=1GB/s latency=2us large=2MB\n", "c.cluster");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("c.cluster:2:"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("large=BYTES:BANDWIDTH"), std::string::npos);
}

}  // namespace
}  // namespace tessera::partition::cost
