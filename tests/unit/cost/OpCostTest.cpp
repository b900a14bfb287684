// Per-op work: FLOPs and bytes by hand formulas, the roofline time, the fusion rule, and a
// completeness check over the op table.
#include <gtest/gtest.h>

#include <cmath>

#include "ir/Module.h"
#include "partition/cost/OpCost.h"
#include "partition/cost/ProgramCost.h"

namespace tessera::partition::cost {
namespace {

using ir::Dim;
using ir::DType;
using ir::OpKind;

TEST(OpCost, EveryOpKindHasACostLine) {
  for (const ir::OpInfo& info : ir::allOps())
    EXPECT_TRUE(hasCostRule(info.kind)) << info.mnemonic << " has no line in partition/cost/OpCosts.def";
}

struct Fixture {
  ir::Module m{"t"};
  ir::Function* f = m.addFunction("f");
  ir::Value* arg(DType t, ir::Shape s) { return f->addArgument({t, std::move(s)}); }
  ir::Op* op(OpKind k, std::vector<ir::Value*> in,
             std::vector<std::pair<std::string, ir::AttrValue>> attrs = {},
             std::vector<ir::TensorType> decl = {}) {
    auto r = f->addOp({k, std::move(in), std::move(attrs), std::move(decl), Location{"t.tir", 3, 5}});
    EXPECT_TRUE(r.isOk()) << r.status().message();
    return r.isOk() ? *r : nullptr;
  }
};

TEST(OpCost, MatmulIsTwoMNK) {
  Fixture fx;
  ir::Op* mm = fx.op(OpKind::Matmul, {fx.arg(DType::F32, {Dim::symbol("B"), 64}), fx.arg(DType::F32, {64, 32})});
  auto c = opCost(*mm, {{"B", 10}});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_DOUBLE_EQ(c->flops, 2.0 * 10 * 64 * 32);
  EXPECT_DOUBLE_EQ(c->bytesRead, (10 * 64 + 64 * 32) * 4.0);
  EXPECT_DOUBLE_EQ(c->bytesWritten, 10 * 32 * 4.0);
  EXPECT_TRUE(c->isGemm);
  EXPECT_DOUBLE_EQ(c->m, 10);
  EXPECT_DOUBLE_EQ(c->n, 32);
  EXPECT_DOUBLE_EQ(c->k, 64);
}

TEST(OpCost, BatchedDot) {
  Fixture fx;
  // [4, 8, 16] x [4, 16, 5] -> [4, 8, 5]: 4 batches of an 8x16 by 16x5 product.
  ir::Op* d = fx.op(OpKind::Dot, {fx.arg(DType::BF16, {4, 8, 16}), fx.arg(DType::BF16, {4, 16, 5})},
                    {{"lhs_batch", std::vector<int64_t>{0}}, {"rhs_batch", std::vector<int64_t>{0}},
                     {"lhs_contract", std::vector<int64_t>{2}}, {"rhs_contract", std::vector<int64_t>{1}}});
  auto c = opCost(*d, {});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_DOUBLE_EQ(c->flops, 2.0 * 4 * 8 * 5 * 16);
  EXPECT_DOUBLE_EQ(c->m, 8);
  EXPECT_DOUBLE_EQ(c->n, 5);
  EXPECT_DOUBLE_EQ(c->k, 16);
  EXPECT_DOUBLE_EQ(c->bytesWritten, 4 * 8 * 5 * 2.0);
  EXPECT_EQ(c->computeType, DType::BF16);
}

TEST(OpCost, ElementwiseReadsOperandsAtTheirOwnSize) {
  Fixture fx;
  ir::Op* add = fx.op(OpKind::Add, {fx.arg(DType::F32, {Dim::symbol("B"), 100}), fx.arg(DType::F32, {100})});
  auto c = opCost(*add, {{"B", 3}});
  ASSERT_TRUE(c.isOk());
  EXPECT_DOUBLE_EQ(c->flops, 300);
  EXPECT_DOUBLE_EQ(c->bytesRead, (300 + 100) * 4.0);
  EXPECT_DOUBLE_EQ(c->bytesWritten, 300 * 4.0);
  ir::Op* gelu = fx.op(OpKind::Gelu, {add->result(0)});
  auto g = opCost(*gelu, {{"B", 3}});
  ASSERT_TRUE(g.isOk());
  EXPECT_DOUBLE_EQ(g->flops, 10 * 300.0);  // OpCosts.def: gelu counts 10 flops per element
}

TEST(OpCost, ReshapeLaunchesNothing) {
  Fixture fx;
  ir::Op* r = fx.op(OpKind::Reshape, {fx.arg(DType::F32, {4, 6})}, {}, {{DType::F32, {24}}});
  auto c = opCost(*r, {});
  ASSERT_TRUE(c.isOk());
  EXPECT_FALSE(c->launchesKernel);
  EXPECT_EQ(computeSeconds(*c, *findDevice("a100-80g")), 0.0);
}

TEST(OpCost, RooflineTimes) {
  const DeviceSpec& a = *findDevice("a100-80g");
  // A large bf16 GEMM is compute-bound: 2*4096^3 flops at 312 TFLOP/s times 0.86*(4096/4160)^3.
  OpCost g;
  g.isGemm = true;
  g.m = g.n = g.k = 4096;
  g.flops = 2.0 * 4096 * 4096 * 4096;
  g.bytesRead = 2 * 4096.0 * 4096 * 2;
  g.bytesWritten = 4096.0 * 4096 * 2;
  g.computeType = DType::BF16;
  double eff = 0.86 * std::pow(4096.0 / 4160.0, 3);
  EXPECT_NEAR(computeSeconds(g, a), 1.37438953472e11 / (312e12 * eff) + 3e-6, 1e-12);
  // An elementwise op is memory-bound: 12 MB at 68% of 2.039 TB/s (the fitted fraction).
  OpCost e;
  e.flops = 1e6;
  e.bytesRead = 8e6;
  e.bytesWritten = 4e6;
  EXPECT_NEAR(computeSeconds(e, a), 12e6 / (2.039e12 * 0.68) + 3e-6, 1e-15);
  e.fused = true;  // a fused producer pays no launch
  EXPECT_NEAR(computeSeconds(e, a), 12e6 / (2.039e12 * 0.68), 1e-15);
}

TEST(OpCost, UnboundSymbolNamesTheOp) {
  Fixture fx;
  ir::Op* n = fx.op(OpKind::Neg, {fx.arg(DType::F32, {Dim::symbol("S")})});
  auto c = opCost(*n, {});
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().message().rfind("t.tir:3:5: error:", 0), 0u) << c.status().message();
}

TEST(ProgramCost, SingleUseElementwiseChainsFuse) {
  Fixture fx;
  ir::Value* x = fx.arg(DType::F32, {1000});
  ir::Op* e = fx.op(OpKind::Exp, {x});          // one use, by neg: fused
  ir::Op* n = fx.op(OpKind::Neg, {e->result(0)});  // used twice: materialized
  ir::Op* a = fx.op(OpKind::Add, {n->result(0), n->result(0)});
  fx.f->setResults({a->result(0)});
  auto costs = programCosts(*fx.f, {});
  ASSERT_TRUE(costs.isOk());
  EXPECT_TRUE((*costs)[0].fused);
  EXPECT_DOUBLE_EQ((*costs)[0].bytesWritten, 0);
  EXPECT_DOUBLE_EQ((*costs)[0].bytesRead, 4000);
  EXPECT_FALSE((*costs)[1].fused);
  EXPECT_DOUBLE_EQ((*costs)[1].bytesRead, 0);      // exp's result never reaches memory
  EXPECT_DOUBLE_EQ((*costs)[1].bytesWritten, 4000);
  EXPECT_DOUBLE_EQ((*costs)[2].bytesRead, 8000);
  auto unfused = programCosts(*fx.f, {}, false);
  ASSERT_TRUE(unfused.isOk());
  EXPECT_DOUBLE_EQ((*unfused)[1].bytesRead, 4000);
}

}  // namespace
}  // namespace tessera::partition::cost
