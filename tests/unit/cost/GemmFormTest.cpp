// The CPU GEMM terms of the cost model (session 13): the batch count and the transpose form each
// dot / matmul is read in, the per-item time and the form factors in computeSeconds, their
// cluster-file keys, time-sharing of the per-item time, and the simulator's pricing and
// by-kind listing of batched GEMMs. Expected values by hand.
#include <gtest/gtest.h>

#include "ir/Module.h"
#include "partition/cost/ClusterSpec.h"
#include "partition/cost/OpCost.h"
#include "partition/sim/Simulator.h"

namespace tessera::partition::cost {
namespace {

using ir::DType;
using ir::OpKind;
using IL = std::vector<int64_t>;

struct Fixture {
  ir::Module m{"t"};
  ir::Function* f = m.addFunction("f");
  ir::Value* arg(ir::Shape s) { return f->addArgument({DType::F32, std::move(s)}); }
  ir::Op* op(OpKind k, std::vector<ir::Value*> in,
             std::vector<std::pair<std::string, ir::AttrValue>> attrs = {}) {
    auto r = f->addOp({k, std::move(in), std::move(attrs), {}, Location{"t.tir", 1, 1}});
    EXPECT_TRUE(r.isOk()) << r.status().message();
    return r.isOk() ? *r : nullptr;
  }
  ir::Op* dot(ir::Value* a, ir::Value* b, IL lb, IL lc, IL rb, IL rc) {
    return op(OpKind::Dot, {a, b},
              {{"lhs_batch", lb}, {"rhs_batch", rb}, {"lhs_contract", lc}, {"rhs_contract", rc}});
  }
};

OpCost costOf(const ir::Op* o) {
  auto c = opCost(*o, {});
  EXPECT_TRUE(c.isOk()) << c.status().message();
  return c.isOk() ? *c : OpCost{};
}

TEST(GemmForm, PlainDotReadsBothOperandsAsTheyAre) {
  Fixture fx;
  // [8, 16] x [16, 4]: A rows (dim 0) before its contracted dim 1, B's contracted dim 0 first.
  OpCost c = costOf(fx.dot(fx.arg({8, 16}), fx.arg({16, 4}), {}, {1}, {}, {0}));
  EXPECT_FALSE(c.transA);
  EXPECT_FALSE(c.transB);
  EXPECT_DOUBLE_EQ(c.batch, 1);
}

TEST(GemmForm, WeightGradientAndInputGradientForms) {
  Fixture fx;
  // dW = X^T dY: X [512, 256] contracted over its dim 0 (tokens): A read transposed.
  OpCost dw = costOf(fx.dot(fx.arg({512, 256}), fx.arg({512, 1024}), {}, {0}, {}, {0}));
  EXPECT_TRUE(dw.transA);
  EXPECT_FALSE(dw.transB);
  EXPECT_DOUBLE_EQ(dw.m, 256);
  EXPECT_DOUBLE_EQ(dw.n, 1024);
  EXPECT_DOUBLE_EQ(dw.k, 512);
  // dX = dY W^T: W [256, 1024] contracted over its last dim: B read transposed.
  OpCost dx = costOf(fx.dot(fx.arg({512, 1024}), fx.arg({256, 1024}), {}, {1}, {}, {1}));
  EXPECT_FALSE(dx.transA);
  EXPECT_TRUE(dx.transB);
}

TEST(GemmForm, BatchedAttentionScoresFollowTheTransposeView) {
  Fixture fx;
  // scores = Q K^T per head: Q, K [16, 128, 64]; K enters through transpose{0,2,1} -> [16, 64, 128]
  // and is contracted over the transposed view's dim 1, which is K's dim 2 (its last): the engine
  // folds the transpose into the call, and B = K is read transposed.
  ir::Value* q = fx.arg({16, 128, 64});
  ir::Op* kt = fx.op(OpKind::Transpose, {fx.arg({16, 128, 64})}, {{"perm", IL{0, 2, 1}}});
  OpCost s = costOf(fx.dot(q, kt->result(0), {0}, {2}, {0}, {1}));
  EXPECT_DOUBLE_EQ(s.batch, 16);
  EXPECT_DOUBLE_EQ(s.m, 128);
  EXPECT_DOUBLE_EQ(s.n, 128);
  EXPECT_DOUBLE_EQ(s.k, 64);
  EXPECT_FALSE(s.transA);
  EXPECT_TRUE(s.transB);
}

TEST(GemmForm, MatmulBatchAndForms) {
  Fixture fx;
  // A shared rank-2 rhs folds the batch into m: one GEMM.
  OpCost one = costOf(fx.op(OpKind::Matmul, {fx.arg({4, 8, 16}), fx.arg({16, 5})}));
  EXPECT_DOUBLE_EQ(one.batch, 1);
  EXPECT_DOUBLE_EQ(one.m, 32);
  // A batched rhs: 4 items of 8 x 16 by 16 x 5; rhs through a transpose of its last two dims.
  ir::Op* bt = fx.op(OpKind::Transpose, {fx.arg({4, 5, 16})}, {{"perm", IL{0, 2, 1}}});
  OpCost many = costOf(fx.op(OpKind::Matmul, {fx.arg({4, 8, 16}), bt->result(0)}));
  EXPECT_DOUBLE_EQ(many.batch, 4);
  EXPECT_DOUBLE_EQ(many.m, 8);
  EXPECT_FALSE(many.transA);
  EXPECT_TRUE(many.transB);
}

TEST(GemmForm, ComputeSecondsChargesFormAndItems) {
  DeviceSpec d = *findDevice("cpu");
  d.gemm = GemmEfficiency{0.5, 0};  // halfDim 0: the fraction is 0.5 at every size
  d.gemm.transA = 0.8;
  d.gemm.transB = 0.5;
  d.gemm.itemSeconds = 2e-6;
  d.gemm.batched = 0.9;
  d.launchOverhead = 1e-6;
  d.memoryBandwidth = 1e15;  // compute-bound
  OpCost g;
  g.isGemm = true;
  g.m = g.n = g.k = 100;
  g.batch = 10;
  g.flops = 2.0 * 10 * 100 * 100 * 100;  // 2e7
  // 2e7 / (96e9 * 0.5 * 0.9 batched) + 10 items * 2 us + 1 launch.
  EXPECT_NEAR(computeSeconds(g, d), 2e7 / (96e9 * 0.45) + 20e-6 + 1e-6, 1e-15);
  g.transA = true;  // 0.5 * 0.8 * 0.9 of peak
  EXPECT_NEAR(computeSeconds(g, d), 2e7 / (96e9 * 0.36) + 20e-6 + 1e-6, 1e-15);
  g.transB = true;  // 0.5 * 0.8 * 0.5 * 0.9
  EXPECT_NEAR(computeSeconds(g, d), 2e7 / (96e9 * 0.18) + 20e-6 + 1e-6, 1e-15);
  g.batch = 1;  // one item: no batched factor, one item's time
  EXPECT_NEAR(computeSeconds(g, d), 2e7 / (96e9 * 0.2) + 2e-6 + 1e-6, 1e-15);
  // A non-GEMM op pays no item time.
  OpCost e;
  e.flops = 96e3;
  e.batch = 10;
  EXPECT_NEAR(computeSeconds(e, d), 1e-6 + 1e-6, 1e-15);
}

TEST(GemmForm, GpuSpecsKeepTheFormNeutralDefaults) {
  for (const char* n : {"a100-40g", "a100-80g", "h100-sxm", "h200"}) {
    const DeviceSpec& d = *findDevice(n);
    EXPECT_EQ(d.gemm.transA, 1.0) << n;
    EXPECT_EQ(d.gemm.transB, 1.0) << n;
    EXPECT_EQ(d.gemm.itemSeconds, 0.0) << n;
    EXPECT_EQ(d.gemm.batched, 1.0) << n;
    EXPECT_EQ(d.gemm.at(512, 256, 64, true, true), d.gemm.at(512, 256, 64)) << n;
  }
}

TEST(GemmForm, ClusterFileKeysAndTimeSharing) {
  auto c = parseClusterFile(
      "device cpu gemm_trans_a=0.9 gemm_trans_b=1.1 gemm_item=3us gemm_batched=0.7\nnodes 1\n"
      "devices_per_node 2\n", "f");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_DOUBLE_EQ(c->device.gemm.transA, 0.9);
  EXPECT_DOUBLE_EQ(c->device.gemm.transB, 1.1);
  EXPECT_DOUBLE_EQ(c->device.gemm.itemSeconds, 3e-6);
  EXPECT_DOUBLE_EQ(c->device.gemm.batched, 0.7);
  auto t = timeShared(*c, 4);  // half a core each: a fixed cost takes twice as long
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_DOUBLE_EQ(t->device.gemm.itemSeconds, 6e-6);
  EXPECT_DOUBLE_EQ(t->device.gemm.transA, 0.9);  // a fraction, not a rate
  auto bad = parseClusterFile("device cpu gemm_trans_b=3\nnodes 1\ndevices_per_node 2\n", "g");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("g:1:"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("gemm_trans_b"), std::string::npos);
}

TEST(GemmForm, SimulatorChargesItemsAndListsBatchedGemmsApart) {
  Fixture fx;
  // A batched B^T product (8 items of 32 x 32 x 16) and a plain one (64 x 16 x 32).
  ir::Op* kt = fx.op(OpKind::Transpose, {fx.arg({8, 32, 16})}, {{"perm", IL{0, 2, 1}}});
  ir::Op* s = fx.dot(fx.arg({8, 32, 16}), kt->result(0), {0}, {2}, {0}, {1});
  ir::Op* p = fx.dot(fx.arg({64, 32}), fx.arg({32, 16}), {}, {1}, {}, {0});
  fx.f->setResults({s->result(0), p->result(0)});
  auto c = parseClusterFile("device cpu gemm_max=0.5 gemm_half_dim=0 gemm_trans_b=0.5 gemm_item=4us "
                            "gemm_batched=0.8 "
                            "bandwidth=1000TB/s launch=1us\nnodes 1\ndevices_per_node 1\n", "f");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  sim::SimOptions o;
  o.fusion = FusionRule::Engine;
  auto r = sim::simulate(*fx.f, ir::Mesh::make("m", {}), *c, o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  // 96 GFLOP/s; batched: fraction 0.5 * 0.5 (B^T) * 0.8, 8 items of 4 us; plain: 0.5, 1 item.
  const double batched = 2.0 * 8 * 32 * 32 * 16 / (96e9 * 0.2) + 8 * 4e-6 + 1e-6;
  const double plain = 2.0 * 64 * 16 * 32 / (96e9 * 0.5) + 4e-6 + 1e-6;
  EXPECT_NEAR(r->computeByKind.at("gemm batched"), batched, 1e-12);
  EXPECT_NEAR(r->computeByKind.at("gemm"), plain, 1e-12);
  EXPECT_NEAR(r->computeSeconds, batched + plain, 1e-12);
}

}  // namespace
}  // namespace tessera::partition::cost
