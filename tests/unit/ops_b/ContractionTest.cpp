// dot and matmul: shape rules (symbolic dims, every error) and semantics against naive loops.
#include "tests/unit/ops_b/OpsTestUtil.h"

namespace tessera::ir::testing {
namespace {

using IL = std::vector<int64_t>;

std::vector<std::pair<std::string, AttrValue>> dotAttrs(IL lb, IL rb, IL lc, IL rc) {
  return {{"lhs_batch", lb}, {"rhs_batch", rb}, {"lhs_contract", lc}, {"rhs_contract", rc}};
}

TEST(DotShape, BatchThenLhsFreeThenRhsFree) {
  OpBuilder b;
  // lhs [B, M=3, K=8, 5], rhs [8, B, 6]: batch B, contract K; free lhs {3, 5}, free rhs {6}.
  Value* l = b.arg(DType::F32, {sym("B"), 3, 8, 5});
  Value* r = b.arg(DType::F32, {8, sym("B"), 6});
  auto t = b.infer(OpKind::Dot, {l, r}, dotAttrs({0}, {1}, {2}, {0}));
  ASSERT_TRUE(t.isOk()) << errorOf(t);
  EXPECT_EQ((*t)[0], tt(DType::F32, {sym("B"), 3, 5, 6}));
}

TEST(DotShape, Errors) {
  OpBuilder b;
  Value* l = b.arg(DType::F32, {2, 3, 4});
  Value* r = b.arg(DType::F32, {2, 4, 5});
  Value* r16 = b.arg(DType::BF16, {2, 4, 5});
  EXPECT_EQ(errorOf(b.infer(OpKind::Dot, {l, r}, dotAttrs({0}, {}, {2}, {1}))),
            "ops.tir:7:3: error: dot: lhs_batch [0] and rhs_batch [] must have the same length");
  EXPECT_EQ(errorOf(b.infer(OpKind::Dot, {l, r}, dotAttrs({0}, {0}, {2}, {})).status()),
            std::string("ops.tir:7:3: error: dot: lhs_contract [2] and rhs_contract [] must have "
                        "the same length"));
  EXPECT_NE(errorOf(b.infer(OpKind::Dot, {l, r}, dotAttrs({0}, {0}, {3}, {1})))
                .find("lhs_contract [3]: dim 3 is out of range for rank 3"),
            std::string::npos);
  EXPECT_NE(errorOf(b.infer(OpKind::Dot, {l, r}, dotAttrs({0}, {0}, {0}, {1})))
                .find("lhs_contract [0]: dim 0 is used more than once"),
            std::string::npos);
  // Contracting lhs dim 1 (3) with rhs dim 1 (4).
  EXPECT_NE(errorOf(b.infer(OpKind::Dot, {l, r}, dotAttrs({0}, {0}, {1}, {1})))
                .find("contracting dim 0 differs: lhs dim 1 is 3, rhs dim 1 is 4"),
            std::string::npos);
  EXPECT_NE(errorOf(b.infer(OpKind::Dot, {l, r}, dotAttrs({1}, {0}, {2}, {1})))
                .find("batch dim 0 differs: lhs dim 1 is 3, rhs dim 0 is 2"),
            std::string::npos);
  EXPECT_NE(errorOf(b.infer(OpKind::Dot, {l, r16}, dotAttrs({0}, {0}, {2}, {1})))
                .find("same element type, got f32[2,3,4] and bf16[2,4,5]"),
            std::string::npos);
}

TEST(MatmulShape, BatchedAndSharedRhs) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {sym("B"), sym("S"), 64});
  Value* w = b.arg(DType::F32, {64, 256});
  auto t = b.infer(OpKind::Matmul, {x, w});
  ASSERT_TRUE(t.isOk()) << errorOf(t);
  EXPECT_EQ((*t)[0], tt(DType::F32, {sym("B"), sym("S"), 256}));

  Value* q = b.arg(DType::F32, {sym("B"), 4, sym("S"), 16});
  Value* k = b.arg(DType::F32, {sym("B"), 4, 16, sym("S")});
  auto s = b.infer(OpKind::Matmul, {q, k});
  ASSERT_TRUE(s.isOk()) << errorOf(s);
  EXPECT_EQ((*s)[0], tt(DType::F32, {sym("B"), 4, sym("S"), sym("S")}));
}

TEST(MatmulShape, Errors) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {sym("B"), 3, 4});
  EXPECT_EQ(errorOf(b.infer(OpKind::Matmul, {x, b.arg(DType::F32, {5, 6})})),
            "ops.tir:7:3: error: matmul: contracting dims differ: lhs f32[B,3,4] has k=4, rhs "
            "f32[5,6] has k=5");
  EXPECT_NE(errorOf(b.infer(OpKind::Matmul, {x, b.arg(DType::F32, {2, 4, 6})}))
                .find("batch dim 0 differs: B vs 2"),
            std::string::npos);
  EXPECT_NE(errorOf(b.infer(OpKind::Matmul, {b.arg(DType::F32, {4}), b.arg(DType::F32, {4, 2})}))
                .find("lhs must have rank >= 2, got f32[4]"),
            std::string::npos);
  EXPECT_NE(errorOf(b.infer(OpKind::Matmul, {b.arg(DType::F32, {3, 4}),
                                              b.arg(DType::F32, {2, 4, 6})}))
                .find("same rank (or a rank-2 rhs)"),
            std::string::npos);
  EXPECT_NE(errorOf(b.infer(OpKind::Matmul, {x, b.arg(DType::F64, {4, 6})}))
                .find("same element type"),
            std::string::npos);
}

TEST(DotEval, MatchesNaiveSumWithPermutedDims) {
  OpBuilder b;
  // lhs [K=4, B=2, M=3], rhs [N=5, K=4, B=2]; batch (1, 2), contract (0, 1) -> [B, M, N].
  Value* l = b.arg(DType::F64, {4, 2, 3});
  Value* r = b.arg(DType::F64, {5, 4, 2});
  auto op = b.add(OpKind::Dot, {l, r}, dotAttrs({1}, {2}, {0}, {1}));
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  Tensor lt = randomTensor(DType::F64, {4, 2, 3}, 1), rt = randomTensor(DType::F64, {5, 4, 2}, 2);
  Tensor out = runOne(*op, {lt, rt});
  ASSERT_EQ(out.shape(), ints({2, 3, 5}));
  for (int bb = 0; bb < 2; ++bb)
    for (int m = 0; m < 3; ++m)
      for (int n = 0; n < 5; ++n) {
        double s = 0;
        for (int k = 0; k < 4; ++k) s += lt[k * 6 + bb * 3 + m] * rt[n * 8 + k * 2 + bb];
        EXPECT_NEAR(out[bb * 15 + m * 5 + n], s, 1e-12);
      }
}

TEST(DotEval, HandComputedOuterAndInnerProducts) {
  OpBuilder b;
  Value* u = b.arg(DType::F32, {2});
  Value* v = b.arg(DType::F32, {3});
  auto outer = b.add(OpKind::Dot, {u, v}, dotAttrs({}, {}, {}, {}));
  ASSERT_TRUE(outer.isOk()) << errorOf(outer);
  Tensor o = runOne(*outer, {Tensor(DType::F32, {2}, {1, 2}), Tensor(DType::F32, {3}, {3, 4, 5})});
  EXPECT_EQ(o, Tensor(DType::F32, {2, 3}, {3, 4, 5, 6, 8, 10}));
  Value* w = b.arg(DType::F32, {2});
  auto inner = b.add(OpKind::Dot, {u, w}, dotAttrs({}, {}, {0}, {0}));
  ASSERT_TRUE(inner.isOk()) << errorOf(inner);
  Tensor i = runOne(*inner, {Tensor(DType::F32, {2}, {1, 2}), Tensor(DType::F32, {2}, {-3, 7})});
  EXPECT_EQ(i, Tensor::scalar(DType::F32, 11));
}

// Naive [nb, m, k] x [nb or 1, k, n].
std::vector<double> naiveMatmul(const Tensor& a, const Tensor& w, int64_t nb, int64_t m, int64_t k,
                                int64_t n, bool shared) {
  std::vector<double> c(nb * m * n);
  for (int64_t bb = 0; bb < nb; ++bb)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p)
          s += a[(bb * m + i) * k + p] * w[(shared ? 0 : bb * k * n) + p * n + j];
        c[(bb * m + i) * n + j] = s;
      }
  return c;
}

TEST(MatmulEval, BatchedMatchesTripleLoop) {
  OpBuilder b;
  Value* x = b.arg(DType::F64, {sym("B"), 3, 7});
  Value* y = b.arg(DType::F64, {sym("B"), 7, 4});
  auto op = b.add(OpKind::Matmul, {x, y});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  Tensor xt = randomTensor(DType::F64, {2, 3, 7}, 3), yt = randomTensor(DType::F64, {2, 7, 4}, 4);
  Tensor out = runOne(*op, {xt, yt}, {{"B", 2}});
  ASSERT_EQ(out.shape(), ints({2, 3, 4}));
  std::vector<double> want = naiveMatmul(xt, yt, 2, 3, 7, 4, false);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(out[i], want[i], 1e-12) << i;
}

TEST(MatmulEval, SharedRhsAndF32Rounding) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {2, 2, 3, 5});
  Value* w = b.arg(DType::F32, {5, 6});
  auto op = b.add(OpKind::Matmul, {x, w});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  Tensor xt = randomTensor(DType::F32, {2, 2, 3, 5}, 5), wt = randomTensor(DType::F32, {5, 6}, 6);
  Tensor out = runOne(*op, {xt, wt});
  ASSERT_EQ(out.shape(), ints({2, 2, 3, 6}));
  std::vector<double> want = naiveMatmul(xt, wt, 4, 3, 5, 6, true);
  // Accumulated in double, rounded once to f32.
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(out[i], static_cast<double>(static_cast<float>(want[i]))) << i;
}

TEST(MatmulEval, Bf16ResultIsRounded) {
  OpBuilder b;
  auto op = b.add(OpKind::Matmul, {b.arg(DType::BF16, {1, 2}), b.arg(DType::BF16, {2, 1})});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  // 1*1 + 1*(2^-8) = 1.00390625 is not a bf16 (8 mantissa bits): it rounds to even, 1.0.
  Tensor out = runOne(*op, {Tensor(DType::BF16, {1, 2}, {1, 1}),
                            Tensor(DType::BF16, {2, 1}, {1, 0.00390625})});
  EXPECT_EQ(out[0], 1.0);
}

}  // namespace
}  // namespace tessera::ir::testing
