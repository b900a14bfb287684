// Shape rules and semantics of the elementwise ops: unary math, binary arithmetic with
// broadcasting, compare, select and cast.
#include <cmath>

#include "OpsATestUtil.h"

namespace tessera::ir::opsa {
namespace {

constexpr OpKind kUnaryOps[] = {OpKind::Neg,  OpKind::Abs,     OpKind::Exp,  OpKind::Log,
                                OpKind::Sqrt, OpKind::Rsqrt,   OpKind::Tanh, OpKind::Sigmoid,
                                OpKind::Relu, OpKind::Gelu,    OpKind::Silu, OpKind::Erf,
                                OpKind::Sin,  OpKind::Cos};
constexpr OpKind kBinaryOps[] = {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div,
                                 OpKind::Pow, OpKind::Max, OpKind::Min};

// ---------------------------------------------------------------- shape rules

TEST(ElementwiseRules, UnaryKeepsTypeWithSymbolicDims) {
  for (OpKind k : kUnaryOps) {
    Builder b;
    Value* x = b.arg(DType::F32, {sym("B") * sym("S"), 4});
    EXPECT_EQ(b.typeOrError(k, {x}), "f32[B*S,4]") << opInfo(k).mnemonic;
  }
}

TEST(ElementwiseRules, IntegerUnaryOpsAcceptIntegers) {
  for (OpKind k : {OpKind::Neg, OpKind::Abs, OpKind::Relu}) {
    Builder b;
    Value* x = b.arg(DType::I32, {sym("B")});
    EXPECT_EQ(b.typeOrError(k, {x}), "i32[B]") << opInfo(k).mnemonic;
  }
}

TEST(ElementwiseRules, FloatOnlyUnaryRejectsIntegers) {
  for (OpKind k : kUnaryOps) {
    if (k == OpKind::Neg || k == OpKind::Abs || k == OpKind::Relu) continue;
    Builder b;
    Value* x = b.arg(DType::I32, {sym("B")});
    EXPECT_EQ(b.typeOrError(k, {x}),
              std::string("test.tir:3:5: error: ") + opInfo(k).mnemonic +
                  ": operand must be a float tensor, got i32[B]");
  }
}

TEST(ElementwiseRules, UnaryRejectsBool) {
  Builder b;
  Value* x = b.arg(DType::Bool, {2});
  EXPECT_EQ(b.typeOrError(OpKind::Neg, {x}),
            "test.tir:3:5: error: neg: operand must be a numeric tensor, got bool[2]");
}

TEST(ElementwiseRules, BinaryBroadcastsSymbolicShapes) {
  for (OpKind k : kBinaryOps) {
    Builder b;
    Value* x = b.arg(DType::F32, {sym("B"), 1, 4});
    Value* y = b.arg(DType::F32, {sym("S"), 1});
    EXPECT_EQ(b.typeOrError(k, {x, y}), "f32[B,S,4]") << opInfo(k).mnemonic;
  }
  Builder b;
  Value* x = b.arg(DType::I64, {});
  Value* y = b.arg(DType::I64, {sym("B") + Dim(1), 2});
  EXPECT_EQ(b.typeOrError(OpKind::Mul, {x, y}), "i64[B + 1,2]");
}

TEST(ElementwiseRules, BinaryErrors) {
  Builder b;
  Value* x = b.arg(DType::F32, {sym("B"), 4});
  Value* y = b.arg(DType::F32, {sym("S"), 4});
  Value* z = b.arg(DType::F64, {sym("B"), 4});
  Value* p = b.arg(DType::Bool, {4});
  EXPECT_EQ(b.typeOrError(OpKind::Add, {x, y}),
            "test.tir:3:5: error: add: cannot broadcast [B,4] with [S,4]: B vs S");
  EXPECT_EQ(b.typeOrError(OpKind::Sub, {x, z}),
            "test.tir:3:5: error: sub: lhs and rhs must have the same element type, got "
            "f32[B,4] and f64[B,4]");
  EXPECT_EQ(b.typeOrError(OpKind::Mul, {p, p}),
            "test.tir:3:5: error: mul: lhs must be a numeric tensor, got bool[4]");
}

TEST(ElementwiseRules, CompareGivesBool) {
  Builder b;
  Value* x = b.arg(DType::F32, {sym("B"), 1});
  Value* y = b.arg(DType::F32, {3});
  Attrs lt = {{"dir", makeEnum(kCompareDirEnum, CompareDir::Lt)}};
  EXPECT_EQ(b.typeOrError(OpKind::Compare, {x, y}, lt), "bool[B,3]");
  Value* z = b.arg(DType::I32, {3});
  EXPECT_EQ(b.typeOrError(OpKind::Compare, {x, z}, lt),
            "test.tir:3:5: error: compare: lhs and rhs must have the same element type, got "
            "f32[B,1] and i32[3]");
  EXPECT_TRUE(contains(b.typeOrError(OpKind::Compare, {x, y}), "missing required attribute 'dir'"));
}

TEST(ElementwiseRules, SelectBroadcastsAllThree) {
  Builder b;
  Value* c = b.arg(DType::Bool, {sym("B"), 1});
  Value* x = b.arg(DType::F32, {1, 4});
  Value* y = b.arg(DType::F32, {});
  EXPECT_EQ(b.typeOrError(OpKind::Select, {c, x, y}), "f32[B,4]");
  Value* notBool = b.arg(DType::F32, {sym("B"), 1});
  EXPECT_EQ(b.typeOrError(OpKind::Select, {notBool, x, y}),
            "test.tir:3:5: error: select: condition must be a bool tensor, got f32[B,1]");
  Value* w = b.arg(DType::F64, {4});
  EXPECT_EQ(b.typeOrError(OpKind::Select, {c, x, w}),
            "test.tir:3:5: error: select: on_true and on_false must have the same element type, "
            "got f32[1,4] and f64[4]");
  Value* c3 = b.arg(DType::Bool, {3});
  EXPECT_EQ(b.typeOrError(OpKind::Select, {c3, x, y}),
            "test.tir:3:5: error: select: cannot broadcast [3] with [1,4]: 3 vs 4");
}

TEST(ElementwiseRules, CastChangesDType) {
  Builder b;
  Value* x = b.arg(DType::F32, {sym("B"), 2});
  EXPECT_EQ(b.typeOrError(OpKind::Cast, {x}, {{"dtype", DType::I32}}), "i32[B,2]");
  EXPECT_TRUE(contains(b.typeOrError(OpKind::Cast, {x}, {{"dtype", int64_t{3}}}),
                       "cast attribute 'dtype' must be a dtype"));
}

// ---------------------------------------------------------------- semantics

// Runs unary op `k` on `x` (whose dtype is the argument's).
Tensor unary(OpKind k, const Tensor& x, Attrs attrs = {}) {
  Builder b;
  Value* a = b.arg(x.dtype(), {sym("N")});
  Op* op = b.must(k, {a}, std::move(attrs));
  return op ? b.mustEval(op->result(), {x}) : Tensor();
}

TEST(ElementwiseEval, UnaryHandValues) {
  Tensor x = f32({3}, {-2, 0, 4});
  expectTensor(unary(OpKind::Neg, x), DType::F32, {3}, {2, 0, -4});
  expectTensor(unary(OpKind::Abs, x), DType::F32, {3}, {2, 0, 4});
  expectTensor(unary(OpKind::Relu, x), DType::F32, {3}, {0, 0, 4});
  expectTensor(unary(OpKind::Sqrt, f32({2}, {4, 2.25})), DType::F32, {2}, {2, 1.5});
  expectTensor(unary(OpKind::Rsqrt, f32({2}, {4, 0.25})), DType::F32, {2}, {0.5, 2});
  expectTensor(unary(OpKind::Exp, f64({1}, {0})), DType::F64, {1}, {1});
  expectTensor(unary(OpKind::Log, f64({2}, {1, 0})), DType::F64, {2}, {0, -INFINITY});
  expectTensor(unary(OpKind::Sigmoid, f32({1}, {0})), DType::F32, {1}, {0.5});
  expectTensor(unary(OpKind::Tanh, f32({1}, {0})), DType::F32, {1}, {0});
  expectTensor(unary(OpKind::Silu, f32({1}, {0})), DType::F32, {1}, {0});
  expectTensor(unary(OpKind::Sin, f32({1}, {0})), DType::F32, {1}, {0});
  expectTensor(unary(OpKind::Cos, f32({1}, {0})), DType::F32, {1}, {1});
  expectTensor(unary(OpKind::Sqrt, f32({1}, {-1})), DType::F32, {1}, {NAN});
  expectTensor(unary(OpKind::Relu, f32({1}, {NAN})), DType::F32, {1}, {NAN});
}

TEST(ElementwiseEval, IntegerUnary) {
  Tensor x = i32({3}, {-5, 0, 7});
  expectTensor(unary(OpKind::Neg, x), DType::I32, {3}, {5, 0, -7});
  expectTensor(unary(OpKind::Abs, x), DType::I32, {3}, {5, 0, 7});
  expectTensor(unary(OpKind::Relu, x), DType::I32, {3}, {0, 0, 7});
  // Two's complement wrap-around: -(-2^31) is -2^31 in i32.
  expectTensor(unary(OpKind::Neg, i32({1}, {-2147483648.0})), DType::I32, {1}, {-2147483648.0});
}

TEST(ElementwiseEval, GeluKnownValues) {
  // gelu(1) = Phi(1) = 0.841344746068543 (normal CDF table); the tanh form at 1 is
  // 0.5 * (1 + tanh(sqrt(2/pi) * 1.044715)) = 0.841191990607...
  Tensor g = unary(OpKind::Gelu, f64({3}, {1, 0, -1}));
  EXPECT_NEAR(g[0], 0.841344746068543, 1e-14);
  EXPECT_EQ(g[1], 0.0);
  EXPECT_NEAR(g[2], -(1 - 0.841344746068543), 1e-14);  // -1 * Phi(-1)
  // Far in the negative tail gelu stays accurate: Phi(-10) = 7.6198530241605e-24 (tables).
  Tensor tail = unary(OpKind::Gelu, f64({1}, {-10}));
  EXPECT_NEAR(tail[0], -10 * 7.6198530241605e-24, 1e-35);
  Tensor t = unary(OpKind::Gelu, f64({1}, {1}),
                   {{"approximate", makeEnum(kGeluApproxEnum, GeluApprox::Tanh)}});
  EXPECT_NEAR(t[0], 0.8411919906082768, 1e-13);
  Tensor e = unary(OpKind::Erf, f64({2}, {0.5, -2}));
  EXPECT_NEAR(e[0], 0.5204998778130465, 1e-15);
  EXPECT_NEAR(e[1], -0.9953222650189527, 1e-15);
}

// Every unary float op against the std:: formula, in f64 and in f32 (where the result is the
// f32 rounding of the double result, so it may differ from the formula by half an f32 ulp).
TEST(ElementwiseEval, UnaryMatchesStdFormulas) {
  const double pi = std::acos(-1.0);
  struct Case {
    OpKind kind;
    double (*f)(double);
    bool positiveOnly;
  };
  std::vector<Case> cases = {
      {OpKind::Exp, [](double v) { return std::exp(v); }, false},
      {OpKind::Log, [](double v) { return std::log(v); }, true},
      {OpKind::Sqrt, [](double v) { return std::sqrt(v); }, true},
      {OpKind::Rsqrt, [](double v) { return 1 / std::sqrt(v); }, true},
      {OpKind::Tanh, [](double v) { return std::tanh(v); }, false},
      {OpKind::Sigmoid, [](double v) { return 1 / (1 + std::exp(-v)); }, false},
      {OpKind::Silu, [](double v) { return v / (1 + std::exp(-v)); }, false},
      {OpKind::Erf, [](double v) { return std::erf(v); }, false},
      {OpKind::Sin, [](double v) { return std::sin(v); }, false},
      {OpKind::Cos, [](double v) { return std::cos(v); }, false},
      // The definition's erf form; it cancels for negative x, hence the looser tolerance below.
      {OpKind::Gelu, [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }, false},
  };
  const std::vector<double> anywhere = {-3.25, -1.0, -0.3, 0.1, 0.7, 2.5, 6.0};
  const std::vector<double> positive = {0.01, 0.3, 1.0, 2.0, 7.5, 1000.0};
  for (const Case& c : cases) {
    for (DType dt : {DType::F64, DType::F32}) {
      const std::vector<double>& in = c.positiveOnly ? positive : anywhere;
      Tensor x(dt, {static_cast<int64_t>(in.size())}, in);
      Tensor y = unary(c.kind, x);
      ASSERT_EQ(y.numElements(), x.numElements());
      for (int64_t i = 0; i < x.numElements(); ++i) {
        double want = c.f(x[i]);
        double rel = dt == DType::F64 ? (c.kind == OpKind::Gelu ? 1e-12 : 1e-15) : 6e-8;
        double tol = std::fabs(want) * rel;
        EXPECT_NEAR(y[i], want, tol) << opInfo(c.kind).mnemonic << " " << dtypeName(dt)
                                     << " x=" << x[i];
        EXPECT_EQ(y[i], roundToDType(y[i], dt)) << "not rounded to " << dtypeName(dt);
      }
    }
  }
  // gelu tanh form against its formula.
  Tensor x = f64({4}, {-2, -0.5, 0.5, 3});
  Tensor y = unary(OpKind::Gelu, x, {{"approximate", makeEnum(kGeluApproxEnum, GeluApprox::Tanh)}});
  for (int i = 0; i < 4; ++i) {
    double v = x[i];
    double want = 0.5 * v * (1 + std::tanh(std::sqrt(2 / pi) * (v + 0.044715 * v * v * v)));
    EXPECT_NEAR(y[i], want, 1e-15 * std::fabs(want));
  }
}

Tensor binary(OpKind k, const Tensor& x, const Tensor& y, Attrs attrs = {}) {
  Builder b;
  Shape sx(x.shape().begin(), x.shape().end()), sy(y.shape().begin(), y.shape().end());
  Value* a = b.arg(x.dtype(), sx);
  Value* c = b.arg(y.dtype(), sy);
  Op* op = b.must(k, {a, c}, std::move(attrs));
  return op ? b.mustEval(op->result(), {x, y}) : Tensor();
}

TEST(ElementwiseEval, BinaryHandValues) {
  Tensor x = f64({2, 1}, {1, 2});
  Tensor y = f64({3}, {10, 20, 30});
  expectTensor(binary(OpKind::Add, x, y), DType::F64, {2, 3}, {11, 21, 31, 12, 22, 32});
  expectTensor(binary(OpKind::Sub, x, y), DType::F64, {2, 3}, {-9, -19, -29, -8, -18, -28});
  expectTensor(binary(OpKind::Mul, x, y), DType::F64, {2, 3}, {10, 20, 30, 20, 40, 60});
  expectTensor(binary(OpKind::Div, y, x), DType::F64, {2, 3}, {10, 20, 30, 5, 10, 15});
  expectTensor(binary(OpKind::Pow, f64({3}, {2, 4, -2}), f64({3}, {3, 0.5, 2})), DType::F64, {3},
               {8, 2, 4});
  expectTensor(binary(OpKind::Max, f64({3}, {1, 5, NAN}), f64({3}, {2, 4, 0})), DType::F64, {3},
               {2, 5, NAN});
  expectTensor(binary(OpKind::Min, f64({3}, {1, 5, 0}), f64({3}, {2, 4, NAN})), DType::F64, {3},
               {1, 4, NAN});
  expectTensor(binary(OpKind::Div, f64({2}, {1, -1}), f64({}, {0})), DType::F64, {2},
               {INFINITY, -INFINITY});
}

TEST(ElementwiseEval, BinaryRoundsToF32) {
  // 0.1f + 0.2f: the exact sum of the two f32 values, rounded to f32.
  float a = 0.1f, b = 0.2f;
  Tensor s = binary(OpKind::Add, f32({1}, {a}), f32({1}, {b}));
  EXPECT_EQ(s[0], static_cast<double>(a + b));
  Tensor q = binary(OpKind::Div, f32({1}, {1}), f32({1}, {3}));
  EXPECT_EQ(q[0], static_cast<double>(1.0f / 3.0f));
}

TEST(ElementwiseEval, BroadcastingInTheMiddle) {
  // [2,1,3] + [4,1] -> [2,4,3]: out[i,j,k] = x[i,0,k] + y[j,0].
  std::vector<double> xv, yv;
  for (int i = 0; i < 6; ++i) xv.push_back(100 * i);
  for (int j = 0; j < 4; ++j) yv.push_back(j + 1);
  Tensor r = binary(OpKind::Add, f64({2, 1, 3}, xv), f64({4, 1}, yv));
  std::vector<double> want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 3; ++k) want.push_back(xv[i * 3 + k] + yv[j]);
  expectTensor(r, DType::F64, {2, 4, 3}, want);
}

TEST(ElementwiseEval, IntegerDivisionTruncatesTowardZero) {
  Tensor q = binary(OpKind::Div, i64({4}, {7, -7, 7, -7}), i64({4}, {2, 2, -2, -2}));
  expectTensor(q, DType::I64, {4}, {3, -3, -3, 3});
  Tensor p = binary(OpKind::Pow, i32({2}, {2, 2}), i32({2}, {10, -1}));
  expectTensor(p, DType::I32, {2}, {1024, 0});
}

TEST(ElementwiseEval, IntegerDivisionByZeroIsAnError) {
  Builder b;
  Value* x = b.arg(DType::I32, {2});
  Value* y = b.arg(DType::I32, {2});
  Op* op = b.must(OpKind::Div, {x, y});
  auto r = b.eval(op->result(), {i32({2}, {1, 2}), i32({2}, {1, 0})});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(), "test.tir:3:5: error: div: integer division by zero");
}

TEST(ElementwiseEval, CompareAllDirections) {
  Tensor x = f32({4}, {1, 2, 3, NAN});
  Tensor two = f32({}, {2});
  auto cmp = [&](CompareDir d) {
    return binary(OpKind::Compare, x, two, {{"dir", makeEnum(kCompareDirEnum, d)}});
  };
  expectTensor(cmp(CompareDir::Eq), DType::Bool, {4}, {0, 1, 0, 0});
  expectTensor(cmp(CompareDir::Ne), DType::Bool, {4}, {1, 0, 1, 1});
  expectTensor(cmp(CompareDir::Lt), DType::Bool, {4}, {1, 0, 0, 0});
  expectTensor(cmp(CompareDir::Le), DType::Bool, {4}, {1, 1, 0, 0});
  expectTensor(cmp(CompareDir::Gt), DType::Bool, {4}, {0, 0, 1, 0});
  expectTensor(cmp(CompareDir::Ge), DType::Bool, {4}, {0, 1, 1, 0});
}

TEST(ElementwiseEval, SelectBroadcasts) {
  Builder b;
  Value* c = b.arg(DType::Bool, {sym("B"), 1});
  Value* x = b.arg(DType::F32, {sym("B"), 3});
  Value* y = b.arg(DType::F32, {});
  Op* op = b.must(OpKind::Select, {c, x, y});
  Tensor r = b.mustEval(op->result(), {boolean({2, 1}, {1, 0}), f32({2, 3}, {1, 2, 3, 4, 5, 6}),
                                       f32({}, {-1})});
  expectTensor(r, DType::F32, {2, 3}, {1, 2, 3, -1, -1, -1});
}

TEST(ElementwiseEval, CastRounds) {
  auto cast = [](const Tensor& x, DType to) {
    Builder b;
    Value* a = b.arg(x.dtype(), {static_cast<int64_t>(x.numElements())});
    Op* op = b.must(OpKind::Cast, {a}, {{"dtype", to}});
    return b.mustEval(op->result(), {x});
  };
  expectTensor(cast(f32({3}, {2.75, -2.75, 0.5}), DType::I32), DType::I32, {3}, {2, -2, 0});
  expectTensor(cast(f64({1}, {0.1}), DType::F32), DType::F32, {1},
               {static_cast<double>(0.1f)});
  expectTensor(cast(f32({3}, {0, -0.5, 3}), DType::Bool), DType::Bool, {3}, {0, 1, 1});
  expectTensor(cast(boolean({2}, {1, 0}), DType::F64), DType::F64, {2}, {1, 0});
  // Out-of-range integers wrap: 3e9 - 2^32.
  expectTensor(cast(i64({1}, {3e9}), DType::I32), DType::I32, {1}, {3e9 - 4294967296.0});
  // bf16 keeps 8 significant bits (spacing 2^-7 at 1): 1 + 2^-9 rounds down to 1 and
  // 1 + 3*2^-9 up to 1 + 2^-7.
  expectTensor(cast(f32({2}, {1 + std::ldexp(1.0, -9), 1 + 3 * std::ldexp(1.0, -9)}), DType::BF16),
               DType::BF16, {2}, {1, 1 + std::ldexp(1.0, -7)});
}

}  // namespace
}  // namespace tessera::ir::opsa
