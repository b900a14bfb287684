// cumsum, softmax, log_softmax, layer_norm, rms_norm and cross_entropy: shape rules (symbolic
// dims, errors) and semantics against the textbook formulas written out here.
#include <limits>

#include "tests/unit/ops_b/OpsTestUtil.h"

namespace tessera::ir::testing {
namespace {

using IL = std::vector<int64_t>;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(CumsumShape, KeepsTypeAndChecksAxis) {
  OpBuilder b;
  Value* x = b.arg(DType::I32, {sym("B"), 4});
  auto t = b.infer(OpKind::Cumsum, {x}, {{"axis", int64_t{-1}}});
  ASSERT_TRUE(t.isOk()) << errorOf(t);
  EXPECT_EQ((*t)[0], tt(DType::I32, {sym("B"), 4}));
  EXPECT_EQ(errorOf(b.infer(OpKind::Cumsum, {x}, {{"axis", int64_t{2}}})),
            "ops.tir:7:3: error: cumsum: axis 2 is out of range for rank 2");
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Cumsum, {b.arg(DType::Bool, {3})},
                                       {{"axis", int64_t{0}}})),
                       "operand must be numeric"));
}

TEST(CumsumEval, InclusiveExclusiveReverse) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {2, 3});
  Tensor in(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  auto run = [&](int64_t axis, bool excl, bool rev) {
    auto op = b.add(OpKind::Cumsum, {x},
                    {{"axis", axis}, {"exclusive", excl}, {"reverse", rev}});
    EXPECT_TRUE(op.isOk()) << errorOf(op);
    return runOne(*op, {in});
  };
  EXPECT_EQ(run(1, false, false), Tensor(DType::F32, {2, 3}, {1, 3, 6, 4, 9, 15}));
  EXPECT_EQ(run(1, true, false), Tensor(DType::F32, {2, 3}, {0, 1, 3, 0, 4, 9}));
  EXPECT_EQ(run(1, false, true), Tensor(DType::F32, {2, 3}, {6, 5, 3, 15, 11, 6}));
  EXPECT_EQ(run(1, true, true), Tensor(DType::F32, {2, 3}, {5, 3, 0, 11, 6, 0}));
  EXPECT_EQ(run(0, false, false), Tensor(DType::F32, {2, 3}, {1, 2, 3, 5, 7, 9}));
}

TEST(SoftmaxShape, FloatOnlyAndAxisInRange) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {sym("B"), sym("S"), sym("S")});
  for (OpKind k : {OpKind::Softmax, OpKind::LogSoftmax}) {
    auto t = b.infer(k, {x}, {{"axis", int64_t{-1}}});
    ASSERT_TRUE(t.isOk()) << errorOf(t);
    EXPECT_EQ((*t)[0], x->type());
  }
  EXPECT_EQ(errorOf(b.infer(OpKind::Softmax, {b.arg(DType::I32, {3})}, {{"axis", int64_t{0}}})),
            "ops.tir:7:3: error: softmax: operand must be a float tensor, got i32[3]");
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::LogSoftmax, {x}, {{"axis", int64_t{-4}}})),
                       "log_softmax: axis -4 is out of range for rank 3"));
}

TEST(SoftmaxEval, MatchesExpOverSumAndIsStable) {
  OpBuilder b;
  Value* x = b.arg(DType::F64, {2, 3});
  auto sm = b.add(OpKind::Softmax, {x}, {{"axis", int64_t{0}}});
  auto lsm = b.add(OpKind::LogSoftmax, {x}, {{"axis", int64_t{0}}});
  ASSERT_TRUE(sm.isOk() && lsm.isOk());
  // Column 2 holds huge values: exp(1000) overflows unless the max is subtracted.
  Tensor in(DType::F64, {2, 3}, {1, -2, 1000, 3, 0.5, 999});
  Tensor s = runOne(*sm, {in}), l = runOne(*lsm, {in});
  for (int c = 0; c < 3; ++c) {
    double a = in[c], bb = in[3 + c];
    double sa = 1 / (1 + std::exp(bb - a)), sb = 1 / (1 + std::exp(a - bb));
    EXPECT_NEAR(s[c], sa, 1e-15);
    EXPECT_NEAR(s[3 + c], sb, 1e-15);
    EXPECT_NEAR(l[c], std::log(sa), 1e-12);
    EXPECT_NEAR(l[3 + c], std::log(sb), 1e-12);
  }
  EXPECT_TRUE(std::isfinite(l[2]) && std::isfinite(l[5]));
}

TEST(SoftmaxEval, MaskedEntriesAreZero) {
  OpBuilder b;
  auto sm = b.add(OpKind::Softmax, {b.arg(DType::F32, {3})}, {{"axis", int64_t{0}}});
  ASSERT_TRUE(sm.isOk());
  double inf = std::numeric_limits<double>::infinity();
  Tensor out = runOne(*sm, {Tensor(DType::F32, {3}, {0, std::log(3.0), -inf})});
  EXPECT_EQ(out, Tensor(DType::F32, {3}, {0.25, 0.75, 0}));
}

TEST(LayerNormShape, ParamsHaveTheNormalizedShape) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {sym("B"), sym("S"), 4, 8});
  Value* s2 = b.arg(DType::F32, {4, 8});
  auto t = b.infer(OpKind::LayerNorm, {x, s2, s2}, {{"axis", int64_t{2}}});
  ASSERT_TRUE(t.isOk()) << errorOf(t);
  EXPECT_EQ((*t)[0], x->type());
  Value* s1 = b.arg(DType::F32, {8});
  EXPECT_TRUE(b.infer(OpKind::LayerNorm, {x, s1, s1}).isOk());  // default axis -1
  EXPECT_EQ(errorOf(b.infer(OpKind::LayerNorm, {x, s1, s2})),
            "ops.tir:7:3: error: layer_norm: bias f32[4,8] must have the normalized shape [8] "
            "(dims [3, 4) of f32[B,S,4,8])");
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::LayerNorm, {x, s2, s2})),
                       "scale f32[4,8] must have the normalized shape [8]"));
  Value* h = b.arg(DType::BF16, {8});
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::LayerNorm, {x, h, s1})),
                       "scale bf16[8] must have the element type of the input"));
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::LayerNorm, {b.arg(DType::I32, {8}), s1, s1})),
                       "input must be a float tensor"));
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::LayerNorm, {x, s1, s1}, {{"axis", int64_t{4}}})),
                       "axis 4 is out of range for rank 4"));
}

TEST(RmsNormShape, ScaleOnly) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {sym("B"), 8});
  Value* s = b.arg(DType::F32, {8});
  auto t = b.infer(OpKind::RmsNorm, {x, s});
  ASSERT_TRUE(t.isOk()) << errorOf(t);
  EXPECT_EQ((*t)[0], x->type());
  EXPECT_EQ(errorOf(b.infer(OpKind::RmsNorm, {x, b.arg(DType::F32, {sym("B"), 8})},
                            {{"axis", int64_t{-1}}})),
            "ops.tir:7:3: error: rms_norm: scale f32[B,8] must have the normalized shape [8] "
            "(dims [1, 2) of f32[B,8])");
}

TEST(LayerNormEval, MatchesMeanVarFormula) {
  OpBuilder b;
  // Normalize over the last two dims [3, 4] of a [2, 3, 4] tensor.
  Value* x3 = b.arg(DType::F64, {2, 3, 4});
  auto op = b.add(OpKind::LayerNorm, {x3, b.arg(DType::F64, {3, 4}), b.arg(DType::F64, {3, 4})},
                  {{"axis", int64_t{1}}, {"eps", 1e-3}});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  Tensor x = randomTensor(DType::F64, {2, 3, 4}, 11, -3, 5);
  Tensor sc = randomTensor(DType::F64, {3, 4}, 12), bi = randomTensor(DType::F64, {3, 4}, 13);
  Tensor out = runOne(*op, {x, sc, bi});
  for (int r = 0; r < 2; ++r) {
    double sum = 0, sq = 0;
    for (int j = 0; j < 12; ++j) sum += x[r * 12 + j];
    double mean = sum / 12;
    for (int j = 0; j < 12; ++j) sq += (x[r * 12 + j] - mean) * (x[r * 12 + j] - mean);
    double var = sq / 12;  // biased
    for (int j = 0; j < 12; ++j)
      EXPECT_NEAR(out[r * 12 + j], (x[r * 12 + j] - mean) / std::sqrt(var + 1e-3) * sc[j] + bi[j],
                  1e-12);
  }
}

TEST(LayerNormEval, DefaultEpsIsTorchs) {
  OpBuilder b;
  auto op = b.add(OpKind::LayerNorm,
                  {b.arg(DType::F64, {2}), b.arg(DType::F64, {2}), b.arg(DType::F64, {2})});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  // x = [1, 3]: mean 2, var 1; y = +-1/sqrt(1 + 1e-5).
  Tensor out = runOne(*op, {Tensor(DType::F64, {2}, {1, 3}), Tensor(DType::F64, {2}, {1, 1}),
                            Tensor(DType::F64, {2}, {0, 0})});
  EXPECT_DOUBLE_EQ(out[1], 1 / std::sqrt(1 + 1e-5));
  EXPECT_DOUBLE_EQ(out[0], -1 / std::sqrt(1 + 1e-5));
}

TEST(RmsNormEval, MatchesFormulaWithDefaultEps) {
  OpBuilder b;
  auto op = b.add(OpKind::RmsNorm, {b.arg(DType::F64, {3, 5}), b.arg(DType::F64, {5})});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  Tensor x = randomTensor(DType::F64, {3, 5}, 21), sc = randomTensor(DType::F64, {5}, 22);
  Tensor out = runOne(*op, {x, sc});
  for (int r = 0; r < 3; ++r) {
    double ms = 0;
    for (int j = 0; j < 5; ++j) ms += x[r * 5 + j] * x[r * 5 + j] / 5;
    for (int j = 0; j < 5; ++j)
      EXPECT_NEAR(out[r * 5 + j], x[r * 5 + j] / std::sqrt(ms + 1e-6) * sc[j], 1e-12);
  }
}

TEST(CrossEntropyShape, ReductionsAndErrors) {
  OpBuilder b;
  Value* logits = b.arg(DType::F32, {sym("B"), sym("S"), 100});
  Value* targets = b.arg(DType::I64, {sym("B"), sym("S")});
  auto mean = b.infer(OpKind::CrossEntropy, {logits, targets});
  ASSERT_TRUE(mean.isOk()) << errorOf(mean);
  EXPECT_EQ((*mean)[0], tt(DType::F32, {}));
  auto none = b.infer(OpKind::CrossEntropy, {logits, targets},
                      {{"reduction", makeEnum(kLossReductionEnum, LossReduction::None)}});
  ASSERT_TRUE(none.isOk()) << errorOf(none);
  EXPECT_EQ((*none)[0], tt(DType::F32, {sym("B"), sym("S")}));
  EXPECT_EQ(errorOf(b.infer(OpKind::CrossEntropy, {logits, b.arg(DType::I64, {sym("B")})})),
            "ops.tir:7:3: error: cross_entropy: targets i64[B] must have shape [B,S] (logits "
            "f32[B,S,100] without the class dim)");
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::CrossEntropy, {logits, logits})),
                       "targets must be an integer tensor"));
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::CrossEntropy,
                                       {b.arg(DType::I32, {sym("B"), sym("S"), 100}), targets})),
                       "logits must be a float tensor"));
}

// -log softmax(row)[t], computed naively (values are small enough not to overflow).
double naiveNll(const Tensor& logits, int64_t row, int64_t v, int64_t t) {
  double sum = 0;
  for (int64_t c = 0; c < v; ++c) sum += std::exp(logits[row * v + c]);
  return -std::log(std::exp(logits[row * v + t]) / sum);
}

TEST(CrossEntropyEval, MeanSumNoneWithIgnoredTargets) {
  OpBuilder b;
  Value* logits = b.arg(DType::F64, {2, 3, 5});
  Value* targets = b.arg(DType::I32, {2, 3});
  auto withReduction = [&](LossReduction r) {
    auto op = b.add(OpKind::CrossEntropy, {logits, targets},
                    {{"reduction", makeEnum(kLossReductionEnum, r)}});
    EXPECT_TRUE(op.isOk()) << errorOf(op);
    return *op;
  };
  Tensor lt = randomTensor(DType::F64, {2, 3, 5}, 31, -2, 2);
  Tensor tg(DType::I32, {2, 3}, {4, 0, -100, 2, 2, 1});
  Tensor none = runOne(withReduction(LossReduction::None), {lt, tg});
  ASSERT_EQ(none.shape(), IL({2, 3}));
  double total = 0;
  for (int p = 0; p < 6; ++p) {
    double want = tg[p] == -100 ? 0.0 : naiveNll(lt, p, 5, static_cast<int64_t>(tg[p]));
    EXPECT_NEAR(none[p], want, 1e-12) << p;
    total += want;
  }
  EXPECT_NEAR(runOne(withReduction(LossReduction::Sum), {lt, tg})[0], total, 1e-12);
  // Mean over the 5 counted targets, not 6.
  EXPECT_NEAR(runOne(withReduction(LossReduction::Mean), {lt, tg})[0], total / 5, 1e-12);
}

TEST(CrossEntropyEval, CustomIgnoreIndexAndBadTarget) {
  OpBuilder b;
  auto op = b.add(OpKind::CrossEntropy, {b.arg(DType::F32, {2, 4}), b.arg(DType::I64, {2})},
                  {{"ignore_index", int64_t{0}}});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  Tensor logits(DType::F32, {2, 4}, {0, 0, 0, 0, 1, 2, 3, 4});
  // Row 0 is ignored (its target is 0), so the mean is row 1's loss alone.
  Tensor out = runOne(*op, {logits, Tensor(DType::I64, {2}, {0, 3})});
  double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + std::exp(4.0));
  EXPECT_NEAR(out[0], lse - 4.0, 1e-6);
  EXPECT_EQ(errorOf(runOp(**op, {logits, Tensor(DType::I64, {2}, {1, 4})})),
            "ops.tir:7:3: error: cross_entropy: target 4 at flat position 1 is out of range "
            "[0, 4) and is not the ignore_index 0");
  EXPECT_TRUE(contains(errorOf(runOp(**op, {logits, Tensor(DType::I64, {2}, {-100, 1})})),
                       "target -100 at flat position 0"));
}

TEST(CrossEntropyEval, UniformLogitsGiveLogV) {
  OpBuilder b;
  auto op = b.add(OpKind::CrossEntropy, {b.arg(DType::F32, {3, 7}), b.arg(DType::I32, {3})});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  Tensor out = runOne(*op, {Tensor(DType::F32, {3, 7}, std::vector<double>(21, 2.5)),
                            Tensor(DType::I32, {3}, {0, 6, 3})});
  EXPECT_EQ(out, Tensor::scalar(DType::F32, std::log(7.0)));
}

}  // namespace
}  // namespace tessera::ir::testing
