// Factor rules: every op of the op table has one, and the maps of representative ops match what
// SHARDING.md §2 says they must be (expectations written by hand, einsum-style).
#include <gtest/gtest.h>

#include "ir/OpInfo.h"
#include "partition/OpFactors.h"
#include "tests/support/PartitionTestUtil.h"

namespace tessera::partition {
namespace {

using testing::opNamed;
using testing::parse;

// "lhs-dims ; rhs-dims -> result-dims" with factor names ("-" for unmapped), then the kinds of
// the non-parallel factors, e.g. "b0,i,k ; k,j -> b0,i,j | k:sum".
std::string render(const FactorMap& m) {
  auto dims = [&](const std::vector<int>& ds) {
    std::string s;
    for (size_t i = 0; i < ds.size(); ++i)
      s += (i ? "," : "") + (ds[i] < 0 ? std::string("-") : m.factors[ds[i]].name);
    return s;
  };
  std::string lhs, rhs;
  for (size_t o = 0; o < m.operandDims.size(); ++o) lhs += (o ? " ; " : "") + dims(m.operandDims[o]);
  for (size_t r = 0; r < m.resultDims.size(); ++r) rhs += (r ? " ; " : "") + dims(m.resultDims[r]);
  std::string s = (lhs.empty() ? "" : lhs + " ") + "->" + (rhs.empty() ? "" : " " + rhs);
  std::string kinds;
  for (const Factor& f : m.factors) {
    const char* k = f.kind == FactorKind::ReduceSum ? "sum" : f.kind == FactorKind::ReduceMax ? "max"
                    : f.kind == FactorKind::Local ? "local"
                    : f.kind == FactorKind::Normalized ? "norm" : nullptr;
    if (k) kinds += (kinds.empty() ? "" : ",") + f.name + ":" + k;
    if (f.evenOnly) kinds += (kinds.empty() ? "" : ",") + f.name + ":even";
  }
  return kinds.empty() ? s : s + " | " + kinds;
}

class OpFactorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_ = parse(R"(module @t {
  sym B
  func @f(%x: f32[B,8,16], %w: f32[16,32], %y: f32[8,16], %s: f32[16], %q: f32[B,4,8,2],
          %k: f32[B,4,8,2], %t: f32[100,16], %i: i64[B,8], %lg: f32[B,100], %tg: i64[B]) -> f32[] {
    %add = add %x, %s : f32[B,8,16]
    %bc = mul %x, %y : f32[B,8,16]
    %mm = matmul %x, %w : f32[B,8,32]
    %dt = dot %q, %k lhs_batch=[0,1] rhs_batch=[0,1] lhs_contract=[3] rhs_contract=[3] : f32[B,4,8,8]
    %rs = reduce_sum %x axes=[1] : f32[B,16]
    %rmx = reduce_max %x axes=[2] keepdims=true : f32[B,8,1]
    %rmn = reduce_mean %x axes=[0,1] : f32[16]
    %am = argmax %x axis=1 : i64[B,16]
    %sm = softmax %x axis=-1 : f32[B,8,16]
    %ln = layer_norm %x, %s, %s : f32[B,8,16]
    %g = gather %t, %i axis=0 : f32[B,8,16]
    %z = full value=0 : f32[100,16]
    %sa = scatter_add %z, %i, %g axis=0 : f32[100,16]
    %ce = cross_entropy %lg, %tg : f32[]
    %cen = cross_entropy %lg, %tg reduction=none : f32[B]
    %m1 = reshape %x : f32[B*8,16]
    %sp = reshape %m1 : f32[B,8,16]
    %m2 = reshape %y : f32[2,4,4,4]
    %m3 = reshape %y : f32[128]
    %tr = transpose %q perm=[0,2,1,3] : f32[B,8,4,2]
    %sl = slice %x start=[0,0,4] limit=[B,8,12] : f32[B,8,8]
    %cc = concat %x, %x axis=2 : f32[B,8,32]
    %pd = pad %y low=[1,0] high=[0,0] : f32[9,16]
    %oh = one_hot %i depth=5 dtype=f32 : f32[B,8,5]
    %tk, %tki = top_k %lg k=3 : f32[B,3], i64[B,3]
    %cs = cumsum %y axis=0 : f32[8,16]
    %bi = broadcast_in_dim %s dims=[1] : f32[8,16]
    %io = iota dim=0 : i64[B,8]
    %l = reduce_sum %mm axes=[0,1,2] : f32[]
    return %l
  }
})");
    ASSERT_TRUE(m_);
    f_ = m_->functions()[0].get();
  }
  std::string of(const std::string& name) {
    auto fm = opFactors(*opNamed(*f_, name));
    EXPECT_TRUE(fm.isOk()) << fm.status().message();
    return fm.isOk() ? render(*fm) : "";
  }
  std::unique_ptr<ir::Module> m_;
  ir::Function* f_ = nullptr;
};

TEST(FactorRulesTable, EveryOpKindHasARule) {
  for (const ir::OpInfo& info : ir::allOps())
    EXPECT_TRUE(hasFactorRule(info.kind)) << "no FACTOR_RULE line for '" << info.mnemonic << "'";
}

TEST_F(OpFactorsTest, ElementwiseBroadcasting) {
  // [B,8,16] + [16]: the rank-1 operand aligns with the last dim.
  EXPECT_EQ(of("add"), "d0,d1,d2 ; d2 -> d0,d1,d2");
  EXPECT_EQ(of("bc"), "d0,d1,d2 ; d1,d2 -> d0,d1,d2");
  auto fm = opFactors(*opNamed(*f_, "add"));
  EXPECT_EQ(fm->operandLinear, (std::vector<bool>{true, true}));
}

TEST_F(OpFactorsTest, Contractions) {
  EXPECT_EQ(of("mm"), "b0,i,k ; k,j -> b0,i,j | k:sum");
  // attention scores: batch (B, heads), free S on each side, head dim contracted.
  EXPECT_EQ(of("dt"), "b0,b1,i2,k0 ; b0,b1,j2,k0 -> b0,b1,i2,j2 | k0:sum");
}

TEST_F(OpFactorsTest, Reductions) {
  EXPECT_EQ(of("rs"), "d0,r1,d2 -> d0,d2 | r1:sum");
  EXPECT_EQ(of("rmx"), "d0,d1,r2 -> d0,d1,- | r2:max");
  EXPECT_EQ(of("rmn"), "r0,r1,d2 -> d2 | r0:sum,r1:sum");  // mean = sum / global count
  EXPECT_EQ(of("am"), "d0,axis,d2 -> d0,d2 | axis:local");
}

TEST_F(OpFactorsTest, NormalizationsAndLosses) {
  EXPECT_EQ(of("sm"), "d0,d1,axis2 -> d0,d1,axis2 | axis2:norm");
  EXPECT_EQ(of("ln"), "d0,d1,norm2 ; norm2 ; norm2 -> d0,d1,norm2 | norm2:local");
  EXPECT_EQ(of("ce"), "p0,class ; p0 -> | p0:sum,class:norm");
  EXPECT_EQ(of("cen"), "p0,class ; p0 -> p0 | class:norm");
  EXPECT_EQ(of("tk"), "d0,axis1 -> d0,- ; d0,- | axis1:local");
  EXPECT_EQ(of("cs"), "axis0,d1 -> axis0,d1 | axis0:local");
}

TEST_F(OpFactorsTest, GatherIsVocabParallelAndScatterMirrorsIt) {
  EXPECT_EQ(of("g"), "vocab,t1 ; x0,x1 -> x0,x1,t1 | vocab:sum");
  EXPECT_EQ(of("sa"), "t0,t1 ; x0,x1 ; x0,x1,t1 -> t0,t1 | x0:sum,x1:sum");
}

TEST_F(OpFactorsTest, ReshapeKeepsOnlyTheMajorFactorOfAMerge) {
  // [B,8,16] -> [B*8,16]: B is the major factor of the merge; 8 must be whole.
  EXPECT_EQ(of("m1"), "m0,-,d1 -> m0,d1 | m0:even");
  // ... and back: the split keeps B as the major factor.
  EXPECT_EQ(of("sp"), "m0,d2 -> m0,-,d2 | m0:even");
  // [8,16] -> [2,4,4,4]: 8 = 2*4 and 16 = 4*4; majors 8 and 2 share a factor of extent gcd 2.
  EXPECT_EQ(of("m2"), "m0,m2 -> m0,-,m2,- | m0:even,m2:even");
  auto fm = opFactors(*opNamed(*f_, "m2"));
  EXPECT_EQ(fm->factors[0].size, ir::Dim(2));
  EXPECT_EQ(of("m3"), "m0,- -> m0 | m0:even");
}

TEST_F(OpFactorsTest, DataMovement) {
  EXPECT_EQ(of("tr"), "d0,d1,d2,d3 -> d0,d2,d1,d3");
  EXPECT_EQ(of("sl"), "d0,d1,- -> d0,d1,out2");
  EXPECT_EQ(of("cc"), "d0,d1,- ; d0,d1,- -> d0,d1,out2");
  EXPECT_EQ(of("pd"), "-,d1 -> out0,d1");
  EXPECT_EQ(of("oh"), "d0,d1 -> d0,d1,depth2");
  EXPECT_EQ(of("bi"), "d1 -> d0,d1");
  EXPECT_EQ(of("io"), "-> d0,d1");
}

TEST(OpFactorsErrors, CollectivesKeepUnchangedDims) {
  auto m = parse(R"(module @c {
  mesh @m = <dp=2>
  func @f(%x: f32[4,6]) -> f32[8,6] {
    %a = all_reduce %x axes=[dp] : f32[4,6]
    %g = all_gather %a axes=[dp] dim=0 : f32[8,6]
    return %g
  }
})");
  ASSERT_TRUE(m);
  const ir::Function& f = *m->functions()[0];
  EXPECT_EQ(render(*opFactors(*opNamed(f, "a"))), "d0,d1 -> d0,d1");
  EXPECT_EQ(render(*opFactors(*opNamed(f, "g"))), "-,d1 -> -,d1");
}

}  // namespace
}  // namespace tessera::partition
