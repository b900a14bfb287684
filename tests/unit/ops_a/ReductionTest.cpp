// Shape rules and semantics of reduce_sum / reduce_max / reduce_mean and argmax.
#include <cmath>

#include "OpsATestUtil.h"

namespace tessera::ir::opsa {
namespace {

using Ints = std::vector<int64_t>;

Attrs reduceAttrs(Ints axes, bool keepdims = false) {
  return {{"axes", std::move(axes)}, {"keepdims", keepdims}};
}

TEST(ReductionRules, AxesAndKeepdims) {
  Builder b;
  Value* x = b.arg(DType::F32, {sym("B"), sym("S"), 4});
  for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMax, OpKind::ReduceMean}) {
    EXPECT_EQ(b.typeOrError(k, {x}, reduceAttrs({-1, 0})), "f32[S]");
    EXPECT_EQ(b.typeOrError(k, {x}, reduceAttrs({-1, 0}, true)), "f32[1,S,1]");
    EXPECT_EQ(b.typeOrError(k, {x}, reduceAttrs({})), "f32[B,S,4]");
    EXPECT_EQ(b.typeOrError(k, {x}, reduceAttrs({0, 1, 2})), "f32[]");
  }
  Value* n = b.arg(DType::I32, {sym("B")});
  EXPECT_EQ(b.typeOrError(OpKind::ReduceMax, {n}, reduceAttrs({0})), "i32[]");
  EXPECT_EQ(b.typeOrError(OpKind::ReduceSum, {n}, reduceAttrs({0}, true)), "i32[1]");
}

TEST(ReductionRules, Errors) {
  Builder b;
  Value* x = b.arg(DType::F32, {sym("B"), sym("S"), 4});
  EXPECT_EQ(b.typeOrError(OpKind::ReduceSum, {x}, reduceAttrs({3})),
            "test.tir:3:5: error: reduce_sum: axis 3 is out of range for rank 3");
  EXPECT_EQ(b.typeOrError(OpKind::ReduceMax, {x}, reduceAttrs({-4})),
            "test.tir:3:5: error: reduce_max: axis -4 is out of range for rank 3");
  EXPECT_EQ(b.typeOrError(OpKind::ReduceSum, {x}, reduceAttrs({0, -3})),
            "test.tir:3:5: error: reduce_sum: axes [0,-3] name dimension 0 twice");
  Value* n = b.arg(DType::I32, {4});
  EXPECT_EQ(b.typeOrError(OpKind::ReduceMean, {n}, reduceAttrs({0})),
            "test.tir:3:5: error: reduce_mean: operand must be a float tensor, got i32[4]");
  Value* p = b.arg(DType::Bool, {4});
  EXPECT_EQ(b.typeOrError(OpKind::ReduceSum, {p}, reduceAttrs({0})),
            "test.tir:3:5: error: reduce_sum: operand must be numeric, got bool[4]");
}

TEST(ReductionRules, Argmax) {
  Builder b;
  Value* x = b.arg(DType::F32, {sym("B"), 5});
  EXPECT_EQ(b.typeOrError(OpKind::Argmax, {x}, {{"axis", int64_t{-1}}}), "i64[B]");
  EXPECT_EQ(b.typeOrError(OpKind::Argmax, {x}, {{"axis", int64_t{0}}, {"keepdims", true}}),
            "i64[1,5]");
  EXPECT_EQ(b.typeOrError(OpKind::Argmax, {x}, {{"axis", int64_t{2}}}),
            "test.tir:3:5: error: argmax: axis 2 is out of range for rank 2");
}

Tensor reduce(OpKind k, const Tensor& x, Attrs attrs) {
  Builder b;
  Shape s(x.shape().begin(), x.shape().end());
  if (!s.empty()) s[0] = sym("B");  // the leading dim is symbolic, bound by the interpreter
  Value* a = b.arg(x.dtype(), s);
  Op* op = b.must(k, {a}, std::move(attrs));
  return op ? b.mustEval(op->result(), {x}) : Tensor();
}

TEST(ReductionEval, SumMaxMeanOnAMatrix) {
  Tensor x = f64({2, 3}, {1, 2, 3, 4, 5, 9});
  expectTensor(reduce(OpKind::ReduceSum, x, reduceAttrs({1})), DType::F64, {2}, {6, 18});
  expectTensor(reduce(OpKind::ReduceSum, x, reduceAttrs({0})), DType::F64, {3}, {5, 7, 12});
  expectTensor(reduce(OpKind::ReduceSum, x, reduceAttrs({0, 1})), DType::F64, {}, {24});
  expectTensor(reduce(OpKind::ReduceSum, x, reduceAttrs({1}, true)), DType::F64, {2, 1}, {6, 18});
  expectTensor(reduce(OpKind::ReduceMax, x, reduceAttrs({-1})), DType::F64, {2}, {3, 9});
  expectTensor(reduce(OpKind::ReduceMax, x, reduceAttrs({0}, true)), DType::F64, {1, 3}, {4, 5, 9});
  expectTensor(reduce(OpKind::ReduceMean, x, reduceAttrs({1})), DType::F64, {2}, {2, 6});
  expectTensor(reduce(OpKind::ReduceMean, x, reduceAttrs({0, 1})), DType::F64, {}, {4});
  expectTensor(reduce(OpKind::ReduceSum, x, reduceAttrs({})), DType::F64, {2, 3}, {1, 2, 3, 4, 5, 9});
}

TEST(ReductionEval, NonAdjacentAxesOfARank3Tensor) {
  // x[i,j,k] = 100 i + 10 j + k over [2,3,4]; sum over axes {0,2}: out[j] = sum_i sum_k x.
  std::vector<double> v;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) v.push_back(100 * i + 10 * j + k);
  Tensor x = f32({2, 3, 4}, v);
  std::vector<double> want;
  for (int j = 0; j < 3; ++j) want.push_back(4 * 100 + 8 * 10 * j + 2 * (0 + 1 + 2 + 3));
  expectTensor(reduce(OpKind::ReduceSum, x, reduceAttrs({2, 0})), DType::F32, {3}, want);
  expectTensor(reduce(OpKind::ReduceSum, x, reduceAttrs({0, 2}, true)), DType::F32, {1, 3, 1}, want);
  // max over axis 1: out[i,k] = 100 i + 20 + k.
  std::vector<double> mx;
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) mx.push_back(100 * i + 20 + k);
  expectTensor(reduce(OpKind::ReduceMax, x, reduceAttrs({1})), DType::F32, {2, 4}, mx);
}

TEST(ReductionEval, F32SumIsRoundedOnce) {
  // Summed in f32 step by step, 2^24 + 1 + 1 stays 2^24; the reference rounds the exact sum.
  Tensor x = f32({3}, {16777216.0, 1, 1});
  expectTensor(reduce(OpKind::ReduceSum, x, reduceAttrs({0})), DType::F32, {}, {16777218.0});
  float t = 0.1f;
  double exactMean = (3.0 * t) / 3.0;
  expectTensor(reduce(OpKind::ReduceMean, f32({3}, {t, t, t}), reduceAttrs({0})), DType::F32, {},
               {static_cast<double>(static_cast<float>(exactMean))});
}

TEST(ReductionEval, MaxPropagatesNaNAndWorksOnIntegers) {
  expectTensor(reduce(OpKind::ReduceMax, f32({4}, {1, NAN, 7, 2}), reduceAttrs({0})), DType::F32,
               {}, {NAN});
  expectTensor(reduce(OpKind::ReduceMax, i32({2, 2}, {-5, -7, -9, -3}), reduceAttrs({1})),
               DType::I32, {2}, {-5, -3});
  expectTensor(reduce(OpKind::ReduceSum, i64({3}, {4, -1, 10}), reduceAttrs({0})), DType::I64, {},
               {13});
}

TEST(ReductionEval, MaxOverAnEmptyDimIsAnError) {
  Builder b;
  Value* x = b.arg(DType::F32, {2, 0});
  Op* op = b.must(OpKind::ReduceMax, {x}, reduceAttrs({1}));
  auto r = b.eval(op->result(), {f32({2, 0}, {})});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(),
            "test.tir:3:5: error: reduce_max: cannot take the maximum over an empty dimension of "
            "[2,0]");
  // An empty sum is 0.
  Builder c;
  Value* y = c.arg(DType::F32, {2, 0});
  Op* s = c.must(OpKind::ReduceSum, {y}, reduceAttrs({1}));
  expectTensor(c.mustEval(s->result(), {f32({2, 0}, {})}), DType::F32, {2}, {0, 0});
}

TEST(ReductionEval, ArgmaxFirstIndexOnTies) {
  Tensor x = f32({2, 4}, {1, 3, 3, 2, 5, 5, 5, 5});
  expectTensor(reduce(OpKind::Argmax, x, {{"axis", int64_t{1}}}), DType::I64, {2}, {1, 0});
  expectTensor(reduce(OpKind::Argmax, x, {{"axis", int64_t{-1}}, {"keepdims", true}}), DType::I64,
               {2, 1}, {1, 0});
  // Along axis 0: column 0 ties (4, 4) and picks row 0.
  expectTensor(reduce(OpKind::Argmax, f64({2, 3}, {4, 1, 6, 4, 2, 5}), {{"axis", int64_t{0}}}),
               DType::I64, {3}, {0, 1, 0});
  // A NaN counts as the maximum, the first one wins.
  expectTensor(reduce(OpKind::Argmax, f64({4}, {1, NAN, 9, NAN}), {{"axis", int64_t{0}}}),
               DType::I64, {}, {1});
  // Middle axis of a rank-3 tensor: x[i,j,k] with the max of each (i,k) at j = (i + k) % 3.
  std::vector<double> v(2 * 3 * 2, 0.0);
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 2; ++k) v[i * 6 + ((i + k) % 3) * 2 + k] = 1;
  expectTensor(reduce(OpKind::Argmax, i32({2, 3, 2}, v), {{"axis", int64_t{1}}}), DType::I64,
               {2, 2}, {0, 1, 1, 2});
}

}  // namespace
}  // namespace tessera::ir::opsa
