// Sharding propagation on small hand-written modules: text in, shardings out. Expected layouts
// are derived by hand from the factor rules of SHARDING.md §2.
#include <gtest/gtest.h>

#include "partition/propagation/Propagation.h"
#include "tests/support/PartitionTestUtil.h"

namespace tessera::partition {
namespace {

using testing::opNamed;
using testing::parse;
using testing::valueNamed;

struct Planned {
  std::unique_ptr<ir::Module> m;
  ir::Function* f = nullptr;
  StatusOr<ShardingPlan> plan = Status::error("not run");
  std::string sh(const std::string& v) {
    ir::Value* x = valueNamed(*f, v);
    return x && x->sharding() ? x->sharding()->str() : "<none>";
  }
};

Planned propagate(const std::string& text, PropagationOptions o = {}) {
  Planned r;
  r.m = parse(text);
  if (!r.m) return r;
  r.f = r.m->functions()[0].get();
  r.plan = propagateShardings(*r.f, r.m->meshes.at(0), o);
  EXPECT_TRUE(r.plan.isOk()) << r.plan.status().message();
  return r;
}

TEST(Propagation, MegatronMlpForwardFromWeights) {
  Planned r = propagate(R"(module @mlp {
  mesh @m = <dp=2, tp=2>
  func @step(%x: f32[8,16] {dp, ?}, %w1: f32[16,32] {-, tp}, %w2: f32[32,16] {tp, -}) -> f32[8,16] {
    %h = matmul %x, %w1 : f32[8,32]
    %a = gelu %h : f32[8,32]
    %y = matmul %a, %w2 : f32[8,16]
    return %y
  }
})");
  ASSERT_TRUE(r.plan.isOk());
  EXPECT_EQ(r.sh("x"), "{dp, -}");  // the open dim meets w1's "-" on the contracted factor
  EXPECT_EQ(r.sh("h"), "{dp, tp}");
  EXPECT_EQ(r.sh("a"), "{dp, tp}");
  // The row-parallel matmul contracts the tp-split factor: its result is a partial sum.
  EXPECT_EQ(r.sh("y"), "{dp, -} partial{tp:sum}");
  const OpSharding* os = r.plan->find(opNamed(*r.f, "y"));
  ASSERT_TRUE(os);
  // matmul factors: i, k, j (OpFactors.cpp); k is split on tp.
  EXPECT_EQ(os->factorAxes[1], (AxisList{"tp"}));
  EXPECT_EQ(os->resultPartial[0].size(), 1u);
  EXPECT_TRUE(r.plan->warnings.empty());
}

TEST(Propagation, BackwardFromAnnotatedResult) {
  Planned r = propagate(R"(module @b {
  mesh @m = <dp=4>
  func @f(%a: f32[8,3], %b: f32[3]) -> f32[8,3] {
    %e = exp %a : f32[8,3]
    %y = add %e, %b : f32[8,3] {dp, -}
    return %y
  }
})");
  ASSERT_TRUE(r.plan.isOk());
  EXPECT_EQ(r.sh("e"), "{dp, -}");
  EXPECT_EQ(r.sh("a"), "{dp, -}");
  EXPECT_EQ(r.sh("b"), "{-}");  // broadcast operand: its dim maps to the unsplit factor
}

TEST(Propagation, PriorityDecidesAndTheLoserIsRecorded) {
  // x wants dp on dim 0 at p1, y wants dp on dim 1 at p0: an axis splits one factor only.
  Planned r = propagate(R"(module @p {
  mesh @m = <dp=2>
  func @f(%x: f32[8,8] {dp:p1, ?}, %y: f32[8,8] {?, dp:p0}) -> f32[8,8] {
    %z = add %x, %y : f32[8,8]
    return %z
  }
})");
  ASSERT_TRUE(r.plan.isOk());
  EXPECT_EQ(r.sh("z"), "{-, dp}");
  const OpSharding* os = r.plan->find(opNamed(*r.f, "z"));
  EXPECT_TRUE(os->factorAxes[0].empty());
  EXPECT_EQ(os->factorAxes[1], (AxisList{"dp"}));
  bool recorded = false;
  for (const auto& d : r.plan->decisions)
    recorded |= d.factor == "d0" && d.rejected == AxisList{"dp"} && d.chosen.empty();
  EXPECT_TRUE(recorded);
}

TEST(Propagation, EqualAuthorityConflictIsResolvedByCost) {
  // Same factor, dp from a 1 MiB tensor and tp from a 4 KiB one: moving the small one is cheaper.
  Planned r = propagate(R"(module @c {
  mesh @m = <dp=2, tp=2>
  func @f(%x: f32[1024,256] {dp, -}, %y: f32[1024,1] {tp, -}) -> f32[1024,256] {
    %z = add %x, %y : f32[1024,256]
    return %z
  }
})");
  ASSERT_TRUE(r.plan.isOk());
  EXPECT_EQ(r.sh("z"), "{dp, -}");
  const ir::Op* add = opNamed(*r.f, "z");
  EXPECT_EQ(r.plan->requiredOperandSharding(add, 1).str(), "{dp, -}");  // y is resharded
  ASSERT_EQ(r.plan->decisions.size(), 1u);
  EXPECT_EQ(r.plan->decisions[0].chosen, AxisList{"dp"});
  EXPECT_EQ(r.plan->decisions[0].rejected, AxisList{"tp"});
  EXPECT_NE(r.plan->decisions[0].reason.find("cost"), std::string::npos);
}

TEST(Propagation, UserAnnotationWinsOverPreset) {
  auto m = parse(R"(module @u {
  mesh @m = <dp=2, tp=2>
  func @f(%x: f32[8,8] {-, ?}, %y: f32[8,8]) -> f32[8,8] {
    %z = add %x, %y : f32[8,8]
    return %z
  }
})");
  ASSERT_TRUE(m);
  ir::Function* f = m->functions()[0].get();
  PropagationOptions o;
  ir::Sharding pre = ir::Sharding::open(2);
  pre.dims[0] = ir::DimSharding{{"dp"}, false, std::nullopt};
  pre.dims[1] = ir::DimSharding{{"tp"}, false, std::nullopt};
  o.preset[f->argument(0)] = pre;  // dim 0 conflicts with the user's "-", dim 1 is open
  auto plan = propagateShardings(*f, m->meshes[0], o);
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  EXPECT_EQ(f->argument(0)->sharding()->str(), "{-, tp}");
  EXPECT_EQ(f->argument(1)->sharding()->str(), "{-, tp}");
}

TEST(Propagation, ReshapeKeepsAnEvenMajorSplitOnly) {
  Planned r = propagate(R"(module @r {
  mesh @m = <tp=4, dp=2>
  func @f(%x: f32[6,4] {tp, -}, %w: f32[6,4] {dp, -}) -> (f32[24], f32[24]) {
    %a = reshape %x : f32[24]
    %b = reshape %w : f32[24]
    return %a, %b
  }
})");
  ASSERT_TRUE(r.plan.isOk());
  EXPECT_EQ(r.sh("a"), "{-}");   // 4 does not divide 6: the merge cannot keep the split
  EXPECT_EQ(r.sh("b"), "{dp}");  // 2 divides 6: rows 0-2 | 3-5 are elements 0-11 | 12-23
}

TEST(Propagation, DataParallelLossIsAPartialSumAndGradientsToo) {
  // A linear model: the batch split on dp contracts away in the weight gradient (x^T · g).
  Planned r = propagate(R"(module @d {
  mesh @m = <dp=2>
  sym B divisible_by 2
  func @f(%x: f32[B,4] {dp, -}, %w: f32[4,3], %t: i64[B] {dp}) -> (f32[], f32[4,3]) {
    %lg = matmul %x, %w : f32[B,3]
    %l = cross_entropy %lg, %t : f32[]
    %g = dot %x, %lg lhs_batch=[] rhs_batch=[] lhs_contract=[0] rhs_contract=[0] : f32[4,3]
    return %l, %g
  }
})");
  ASSERT_TRUE(r.plan.isOk());
  EXPECT_EQ(r.sh("lg"), "{dp, -}");
  EXPECT_EQ(r.sh("w"), "{-, -}");
  EXPECT_EQ(r.sh("l"), "{} partial{dp:sum}");
  EXPECT_EQ(r.sh("g"), "{-, -} partial{dp:sum}");
}

TEST(Propagation, PartialPassesThroughLinearOpsOnly) {
  Planned r = propagate(R"(module @l {
  mesh @m = <tp=2>
  func @f(%a: f32[4,8] {-, tp}, %b: f32[8,4] {tp, -}, %c: f32[4,4]) -> f32[4,4] {
    %p = matmul %a, %b : f32[4,4]
    %s = mul %p, %c : f32[4,4]
    %n = neg %s : f32[4,4]
    %e = exp %n : f32[4,4]
    return %e
  }
})");
  ASSERT_TRUE(r.plan.isOk());
  EXPECT_EQ(r.sh("p"), "{-, -} partial{tp:sum}");
  EXPECT_EQ(r.sh("s"), "{-, -} partial{tp:sum}");  // scaling by a full value stays partial
  EXPECT_EQ(r.sh("n"), "{-, -} partial{tp:sum}");
  EXPECT_EQ(r.sh("e"), "{-, -}");                   // exp needs the sum: resolved before it
  const OpSharding* exp = r.plan->find(opNamed(*r.f, "e"));
  EXPECT_TRUE(exp->passPartial[0].empty());
  EXPECT_EQ(r.plan->requiredOperandSharding(opNamed(*r.f, "e"), 0).str(), "{-, -}");
}

TEST(Propagation, ForcedFullReplicationOfALargeTensorWarnsWithLocation) {
  Planned r = propagate(R"(module @w {
  mesh @m = <dp=2, tp=2>
  func @f(%x: f32[1024,1024] {dp, tp}, %s: f32[1024,1024], %y: f32[8,8] {dp, tp},
          %t: f32[8,8]) -> (f32[1024,1024], f32[8,8]) {
    %n = layer_norm %x, %s, %s axis=0 : f32[1024,1024]
    %k = layer_norm %y, %t, %t axis=0 : f32[8,8]
    return %n, %k
  }
})");
  ASSERT_TRUE(r.plan.isOk());
  ASSERT_EQ(r.plan->warnings.size(), 1u);  // the 256-byte %y is not worth a warning
  const ShardingWarning& w = r.plan->warnings[0];
  EXPECT_EQ(w.loc.file, "test.tir");
  EXPECT_EQ(w.loc.line, 5);
  EXPECT_NE(w.message.find("layer_norm needs %x"), std::string::npos) << w.message;
  EXPECT_NE(w.message.find("4194304 bytes"), std::string::npos) << w.message;
  EXPECT_EQ(r.sh("n"), "{-, -}");
}

TEST(Propagation, AllSymbolicTensorWarnsWithoutSymbolValues) {
  const char* text = R"(module @s {
  mesh @m = <dp=2>
  sym B divisible_by 2
  sym S
  func @f(%x: f32[B,S] {dp, -}) -> f32[B,S] {
    %c = cumsum %x axis=0 : f32[B,S]
    return %c
  }
})";
  Planned r = propagate(text);
  ASSERT_TRUE(r.plan.isOk());
  EXPECT_EQ(r.plan->warnings.size(), 1u);
  PropagationOptions small;
  small.symbolValues = {{"B", 4}, {"S", 4}};
  Planned r2 = propagate(text, small);
  ASSERT_TRUE(r2.plan.isOk());
  EXPECT_TRUE(r2.plan->warnings.empty());
}

TEST(Propagation, EveryValueGetsACompleteSharding) {
  Planned r = propagate(R"(module @e {
  mesh @m = <dp=2>
  func @f(%x: f32[4,6], %i: i64[3]) -> f32[3,6] {
    %g = gather %x, %i axis=0 : f32[3,6]
    %t = transpose %g perm=[1,0] : f32[6,3]
    %u = transpose %t perm=[1,0] : f32[3,6]
    return %u
  }
})");
  ASSERT_TRUE(r.plan.isOk());
  for (const auto& op : r.f->ops()) {
    ASSERT_TRUE(op->result()->sharding());
    for (const auto& d : op->result()->sharding()->dims) EXPECT_FALSE(d.open);
    EXPECT_TRUE(r.plan->find(op.get()));
  }
}

TEST(Propagation, BadAnnotationIsAnErrorWithLocation) {
  auto m = parse(R"(module @x {
  mesh @m = <dp=2>
  func @f(%x: f32[4,6]) -> f32[4,6] {
    %y = exp %x : f32[4,6]
    return %y
  }
})");
  ASSERT_TRUE(m);
  ir::Function* f = m->functions()[0].get();
  PropagationOptions o;
  ir::Sharding bad = ir::Sharding::open(2);
  bad.dims[0] = ir::DimSharding{{"tp"}, false, std::nullopt};
  o.preset[f->argument(0)] = bad;
  auto plan = propagateShardings(*f, m->meshes[0], o);
  ASSERT_FALSE(plan.isOk());
  EXPECT_NE(plan.status().message().find("tp"), std::string::npos) << plan.status().message();
}

}  // namespace
}  // namespace tessera::partition
