// Shape rules and semantics of constant, iota, full and random (including the counter-based
// generator's known answers and its statistics).
#include <cmath>
#include <memory>

#include "OpsATestUtil.h"
#include "ir/interp/Philox.h"

namespace tessera::ir::opsa {
namespace {

TensorType ty(DType d, Shape s) { return TensorType{d, std::move(s)}; }

AttrValue tensorAttr(Tensor t) { return TensorAttr{std::make_shared<const Tensor>(std::move(t))}; }

// ---------------------------------------------------------------- constant

TEST(CreationRules, ConstantTypeComesFromTheLiteral) {
  Builder b;
  EXPECT_EQ(b.typeOrError(OpKind::Constant, {}, {{"value", tensorAttr(f32({2, 3}, {1, 2, 3, 4, 5, 6}))}}),
            "f32[2,3]");
  EXPECT_EQ(b.typeOrError(OpKind::Constant, {}, {{"value", tensorAttr(i64({}, {7}))}}), "i64[]");
  EXPECT_EQ(b.typeOrError(OpKind::Constant, {}, {{"value", tensorAttr(f32({2}, {1, 2}))}},
                          {ty(DType::F32, {3})}),
            "test.tir:3:5: error: constant: result 0 is declared f32[3] but the op produces f32[2]");
}

TEST(CreationEval, ConstantReturnsTheLiteral) {
  Builder b;
  Op* op = b.must(OpKind::Constant, {}, {{"value", tensorAttr(f64({2, 2}, {1.5, -2, 0, 1e300}))}});
  expectTensor(b.mustEval(op->result(), {}), DType::F64, {2, 2}, {1.5, -2, 0, 1e300});
}

// ---------------------------------------------------------------- iota

TEST(CreationRules, IotaUsesTheDeclaredType) {
  Builder b;
  EXPECT_EQ(b.typeOrError(OpKind::Iota, {}, {{"dim", int64_t{1}}},
                          {ty(DType::I64, {sym("B"), 4})}),
            "i64[B,4]");
  EXPECT_EQ(b.typeOrError(OpKind::Iota, {}, {{"dim", int64_t{2}}},
                          {ty(DType::I64, {sym("B"), 4})}),
            "test.tir:3:5: error: iota: dim 2 is out of range for result i64[B,4] of rank 2");
  EXPECT_EQ(b.typeOrError(OpKind::Iota, {}, {{"dim", int64_t{0}}}),
            "test.tir:3:5: error: iota: needs a declared result type");
  EXPECT_EQ(b.typeOrError(OpKind::Iota, {}, {{"dim", int64_t{0}}}, {ty(DType::Bool, {3})}),
            "test.tir:3:5: error: iota: result must be numeric, got bool[3]");
}

TEST(CreationEval, IotaCountsAlongItsDim) {
  for (int64_t dim : {0, 1}) {
    Builder b;
    Op* op = b.must(OpKind::Iota, {}, {{"dim", dim}}, {ty(DType::F32, {2, 3})});
    std::vector<double> want = dim == 0 ? std::vector<double>{0, 0, 0, 1, 1, 1}
                                        : std::vector<double>{0, 1, 2, 0, 1, 2};
    expectTensor(b.mustEval(op->result(), {}), DType::F32, {2, 3}, want);
  }
  // A symbolic size bound from an argument.
  Builder b;
  Value* x = b.arg(DType::F32, {sym("N")});
  (void)x;
  Op* op = b.must(OpKind::Iota, {}, {{"dim", int64_t{0}}}, {ty(DType::I32, {sym("N")})});
  expectTensor(b.mustEval(op->result(), {f32({4}, {9, 9, 9, 9})}), DType::I32, {4}, {0, 1, 2, 3});
}

// ---------------------------------------------------------------- full

TEST(CreationRules, FullUsesTheDeclaredType) {
  Builder b;
  EXPECT_EQ(b.typeOrError(OpKind::Full, {}, {{"value", 1.5}}, {ty(DType::F32, {sym("B")})}),
            "f32[B]");
  EXPECT_EQ(b.typeOrError(OpKind::Full, {}, {{"value", 1.5}}),
            "test.tir:3:5: error: full: needs a declared result type");
}

TEST(CreationEval, FullRoundsItsValue) {
  Builder b;
  Value* x = b.arg(DType::F32, {sym("N")});
  (void)x;
  Op* f = b.must(OpKind::Full, {}, {{"value", 0.1}}, {ty(DType::F32, {sym("N"), 2})});
  expectTensor(b.mustEval(f->result(), {f32({2}, {0, 0})}), DType::F32, {2, 2},
               std::vector<double>(4, static_cast<double>(0.1f)));
  Op* g = b.must(OpKind::Full, {}, {{"value", -2.7}}, {ty(DType::I64, {3})});
  expectTensor(b.mustEval(g->result(), {f32({2}, {0, 0})}), DType::I64, {3}, {-2, -2, -2});
}

// ---------------------------------------------------------------- random

Attrs randomAttrs(int64_t seed, RandomDist dist, std::optional<double> a = {},
                  std::optional<double> bb = {}) {
  Attrs attrs = {{"seed", seed}, {"dist", makeEnum(kRandomDistEnum, dist)}};
  if (a) attrs.push_back({"a", *a});
  if (bb) attrs.push_back({"b", *bb});
  return attrs;
}

Tensor random(const std::vector<int64_t>& shape, DType dt, const Attrs& attrs) {
  Builder b;
  Shape s(shape.begin(), shape.end());
  Op* op = b.must(OpKind::Random, {}, attrs, {ty(dt, s)});
  return op ? b.mustEval(op->result(), {}) : Tensor();
}

TEST(RandomRules, DeclaredFloatTypeAndSaneParameters) {
  Builder b;
  EXPECT_EQ(b.typeOrError(OpKind::Random, {}, randomAttrs(1, RandomDist::Uniform),
                          {ty(DType::BF16, {sym("B"), sym("S")})}),
            "bf16[B,S]");
  EXPECT_EQ(b.typeOrError(OpKind::Random, {}, randomAttrs(1, RandomDist::Uniform),
                          {ty(DType::I32, {4})}),
            "test.tir:3:5: error: random: result must be a float tensor, got i32[4]");
  EXPECT_EQ(b.typeOrError(OpKind::Random, {}, randomAttrs(1, RandomDist::Uniform, 2.0, 2.0),
                          {ty(DType::F32, {4})}),
            "test.tir:3:5: error: random: uniform needs a < b, got a=2.000000 b=2.000000");
  EXPECT_EQ(b.typeOrError(OpKind::Random, {}, randomAttrs(1, RandomDist::Normal, 0.0, -1.0),
                          {ty(DType::F32, {4})}),
            "test.tir:3:5: error: random: normal needs a non-negative standard deviation b, got "
            "b=-1.000000");
  EXPECT_EQ(b.typeOrError(OpKind::Random, {}, randomAttrs(1, RandomDist::Normal)),
            "test.tir:3:5: error: random: needs a declared result type");
}

// Random123's published known-answer vectors for Philox4x32-10 (tests/kat_vectors).
TEST(RandomEval, PhiloxKnownAnswers) {
  using W = std::array<uint32_t, 4>;
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}), (W{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (W{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (W{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

// The documented mapping from Philox words to values (RandomEval.cpp), recomputed here.
TEST(RandomEval, FollowsTheDocumentedAlgorithm) {
  const int64_t seed = (int64_t{3} << 32) | 5;  // key = (5, 3)
  Tensor u64 = random({6}, DType::F64, randomAttrs(seed, RandomDist::Uniform));
  Tensor u32 = random({6}, DType::F32, randomAttrs(seed, RandomDist::Uniform));
  Tensor n64 = random({6}, DType::F64, randomAttrs(seed, RandomDist::Normal, 1.0, 3.0));
  for (uint32_t i = 0; i < 6; ++i) {
    auto x = philox4x32_10({i, 0, 0, 0}, {5, 3});
    uint64_t w = (uint64_t{x[1]} << 32) | x[0];
    uint64_t v = (uint64_t{x[3]} << 32) | x[2];
    EXPECT_EQ(u64[i], static_cast<double>(w >> 11) / 9007199254740992.0);  // 2^53
    EXPECT_EQ(u32[i], static_cast<double>(w >> 40) / 16777216.0);          // 2^24
    double u1 = static_cast<double>((w >> 11) + 1) / 9007199254740992.0;
    double u2 = static_cast<double>(v >> 11) / 9007199254740992.0;
    double z = std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::acos(-1.0) * u2);
    EXPECT_NEAR(n64[i], 1 + 3 * z, 1e-14);
  }
}

TEST(RandomEval, SameSeedSameValuesOtherSeedOtherValues) {
  Tensor a = random({1000}, DType::F32, randomAttrs(7, RandomDist::Uniform));
  Tensor b = random({1000}, DType::F32, randomAttrs(7, RandomDist::Uniform));
  Tensor c = random({1000}, DType::F32, randomAttrs(8, RandomDist::Uniform));
  EXPECT_EQ(a, b);
  int same = 0;
  for (int i = 0; i < 1000; ++i) same += a[i] == c[i];
  EXPECT_LT(same, 5);
  // Neighbouring elements are not equal either (the counter, not only the seed, matters).
  int repeats = 0;
  for (int i = 1; i < 1000; ++i) repeats += a[i] == a[i - 1];
  EXPECT_LT(repeats, 5);
}

TEST(RandomEval, ElementDependsOnItsGlobalIndexOnly) {
  for (RandomDist dist : {RandomDist::Uniform, RandomDist::Normal}) {
    Tensor small = random({10}, DType::F32, randomAttrs(42, dist));
    Tensor big = random({4, 25}, DType::F32, randomAttrs(42, dist));
    for (int i = 0; i < 10; ++i) EXPECT_EQ(small[i], big[i]) << i;
    Tensor flat = random({100}, DType::F32, randomAttrs(42, dist));
    EXPECT_EQ(flat.data(), big.data());
  }
}

struct Moments {
  double mean, var;
};
Moments moments(const Tensor& t) {
  double s = 0, s2 = 0;
  for (double v : t.data()) s += v;
  double mean = s / t.numElements();
  for (double v : t.data()) s2 += (v - mean) * (v - mean);
  return {mean, s2 / t.numElements()};
}

TEST(RandomEval, UniformStatistics) {
  const int n = 100000;
  Tensor u = random({n}, DType::F32, randomAttrs(123, RandomDist::Uniform));
  Moments m = moments(u);
  // Standard error of the mean: sqrt(1/12 / n) = 0.0009; allow 5 of them.
  EXPECT_NEAR(m.mean, 0.5, 0.0046);
  EXPECT_NEAR(m.var, 1.0 / 12, 0.0015);
  for (double v : u.data()) ASSERT_TRUE(v >= 0 && v < 1) << v;

  Tensor w = random({n}, DType::F64, randomAttrs(9, RandomDist::Uniform, -2.0, 3.0));
  Moments mw = moments(w);
  EXPECT_NEAR(mw.mean, 0.5, 5 * std::sqrt(25.0 / 12 / n));
  EXPECT_NEAR(mw.var, 25.0 / 12, 0.04);
  for (double v : w.data()) ASSERT_TRUE(v >= -2 && v < 3) << v;
}

TEST(RandomEval, NormalStatistics) {
  const int n = 100000;
  Tensor z = random({n}, DType::F32, randomAttrs(321, RandomDist::Normal, 1.0, 2.0));
  Moments m = moments(z);
  // Standard error of the mean 2/sqrt(n) = 0.0063; of the std about 2/sqrt(2n) = 0.0045.
  EXPECT_NEAR(m.mean, 1.0, 0.032);
  EXPECT_NEAR(std::sqrt(m.var), 2.0, 0.023);
  int within = 0;
  for (double v : z.data()) within += std::fabs(v - 1.0) < 2.0;
  EXPECT_NEAR(static_cast<double>(within) / n, 0.682689, 0.0075);  // P(|Z| < 1)
  Tensor std01 = random({n}, DType::F64, randomAttrs(5, RandomDist::Normal));
  Moments s = moments(std01);
  EXPECT_NEAR(s.mean, 0.0, 0.016);
  EXPECT_NEAR(std::sqrt(s.var), 1.0, 0.012);
}

TEST(RandomEval, UniformStaysBelowBAfterRounding) {
  // f32 spacing at 2^27 is 16: every value of [2^27, 2^27 + 16) rounds to 2^27 or up to b; the
  // half that rounds up must be pulled back below b.
  double a = 134217728.0;
  Tensor t = random({1000}, DType::F32, randomAttrs(1, RandomDist::Uniform, a, a + 16));
  for (double v : t.data()) ASSERT_EQ(v, a);
  // bf16 spacing at 1 is 2^-7; b = 1 + 2^-7, so every value must be 1.
  Tensor h = random({1000}, DType::BF16,
                    randomAttrs(1, RandomDist::Uniform, 1.0, 1.0 + std::ldexp(1.0, -7)));
  for (double v : h.data()) ASSERT_EQ(v, 1.0);
}

}  // namespace
}  // namespace tessera::ir::opsa
