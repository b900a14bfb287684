// reshape, transpose, broadcast_in_dim, slice, concat and pad: shape rules (symbolic dims, errors)
// and semantics against hand-written expected tensors or index formulas.
#include "tests/unit/ops_b/OpsTestUtil.h"

namespace tessera::ir::testing {
namespace {

using IL = std::vector<int64_t>;
using DL = std::vector<Dim>;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

Tensor iotaTensor(DType d, IL shape) {
  std::vector<double> v(numElementsOf(shape));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  return Tensor(d, shape, v);
}

TEST(ReshapeShape, SymbolicFlattenAndErrors) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {sym("B"), sym("S"), 64});
  auto ok = b.infer(OpKind::Reshape, {x}, {}, {tt(DType::F32, {sym("B") * sym("S"), 64})});
  ASSERT_TRUE(ok.isOk()) << errorOf(ok);
  EXPECT_EQ((*ok)[0], tt(DType::F32, {sym("B") * sym("S"), 64}));
  // [B, S, 64] -> [S, B, 8, 8]: same polynomial element count.
  EXPECT_TRUE(
      b.infer(OpKind::Reshape, {x}, {}, {tt(DType::F32, {sym("S"), sym("B"), 8, 8})}).isOk());
  EXPECT_EQ(errorOf(b.infer(OpKind::Reshape, {x}, {}, {tt(DType::F32, {sym("B"), 64})})),
            "ops.tir:7:3: error: reshape: element counts differ: operand f32[B,S,64] has 64*B*S, "
            "result f32[B,64] has 64*B");
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Reshape, {x}, {},
                                       {tt(DType::F64, {sym("B"), sym("S"), 64})})),
                       "cannot change the element type"));
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Reshape, {x})), "needs a declared result type"));
}

TEST(ReshapeEval, KeepsRowMajorOrder) {
  OpBuilder b;
  auto op = b.add(OpKind::Reshape, {b.arg(DType::I32, {2, 3})}, {}, {tt(DType::I32, {3, 2})});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  EXPECT_EQ(runOne(*op, {iotaTensor(DType::I32, {2, 3})}),
            Tensor(DType::I32, {3, 2}, {0, 1, 2, 3, 4, 5}));
}

TEST(TransposeShape, PermutesAndRejectsNonPermutations) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {sym("B"), 4, sym("S")});
  auto t = b.infer(OpKind::Transpose, {x}, {{"perm", IL{2, 0, 1}}});
  ASSERT_TRUE(t.isOk()) << errorOf(t);
  EXPECT_EQ((*t)[0], tt(DType::F32, {sym("S"), sym("B"), 4}));
  EXPECT_EQ(errorOf(b.infer(OpKind::Transpose, {x}, {{"perm", IL{0, 0, 1}}})),
            "ops.tir:7:3: error: transpose: perm [0,0,1] is not a permutation of [0, 3)");
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Transpose, {x}, {{"perm", IL{1, 0}}})),
                       "perm [1,0] has 2 entries but the operand f32[B,4,S] has rank 3"));
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Transpose, {x}, {{"perm", IL{0, 1, 3}}})),
                       "not a permutation"));
}

TEST(TransposeEval, MatchesIndexFormula) {
  OpBuilder b;
  auto op = b.add(OpKind::Transpose, {b.arg(DType::F32, {2, 3, 4})}, {{"perm", IL{2, 0, 1}}});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  Tensor in = iotaTensor(DType::F32, {2, 3, 4});
  Tensor out = runOne(*op, {in});
  ASSERT_EQ(out.shape(), IL({4, 2, 3}));
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) EXPECT_EQ(out[k * 6 + i * 3 + j], in[i * 12 + j * 4 + k]);
}

TEST(BroadcastInDimShape, ChecksDims) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {1, sym("S")});
  auto t = b.infer(OpKind::BroadcastInDim, {x}, {{"dims", IL{1, 2}}},
                   {tt(DType::F32, {sym("B"), 4, sym("S")})});
  ASSERT_TRUE(t.isOk()) << errorOf(t);
  EXPECT_EQ((*t)[0], tt(DType::F32, {sym("B"), 4, sym("S")}));
  TensorType out = tt(DType::F32, {sym("B"), 4, sym("S")});
  EXPECT_EQ(errorOf(b.infer(OpKind::BroadcastInDim, {x}, {{"dims", IL{2, 1}}}, {out})),
            "ops.tir:7:3: error: broadcast_in_dim: dims [2,1] must be strictly increasing");
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::BroadcastInDim, {x}, {{"dims", IL{0, 1}}}, {out})),
                       "operand dim 1 (S) cannot broadcast to result dim 1 (4)"));
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::BroadcastInDim, {x}, {{"dims", IL{1, 3}}}, {out})),
                       "3 is out of range for the result f32[B,4,S]"));
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::BroadcastInDim, {x}, {{"dims", IL{1}}}, {out})),
                       "has 1 entries but the operand f32[1,S] has rank 2"));
}

TEST(BroadcastInDimEval, StretchesSizeOneAndAddsDims) {
  OpBuilder b;
  // [3, 1] -> [2, 3, 4] with dims [1, 2]: out[i, j, k] = in[j, 0].
  auto op = b.add(OpKind::BroadcastInDim, {b.arg(DType::F32, {3, 1})}, {{"dims", IL{1, 2}}},
                  {tt(DType::F32, {2, 3, 4})});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  Tensor out = runOne(*op, {Tensor(DType::F32, {3, 1}, {10, 20, 30})});
  ASSERT_EQ(out.shape(), IL({2, 3, 4}));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(out[i * 12 + j * 4 + k], 10.0 * (j + 1));
}

TEST(SliceShape, ConstantSymbolicAndStrided) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {sym("B"), sym("S"), 10});
  // Drop the last position of S (a causal LM's inputs) and take every third column.
  auto t = b.infer(OpKind::Slice, {x},
                   {{"start", DL{0, 0, 1}}, {"limit", DL{sym("B"), sym("S") - Dim(1), 10}},
                    {"stride", IL{1, 1, 3}}});
  ASSERT_TRUE(t.isOk()) << errorOf(t);
  // ceil((10 - 1) / 3) = 3.
  EXPECT_EQ((*t)[0], tt(DType::F32, {sym("B"), sym("S") - Dim(1), 3}));
}

TEST(SliceShape, Errors) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {sym("S"), 10});
  EXPECT_EQ(errorOf(b.infer(OpKind::Slice, {x},
                            {{"start", DL{0, 2}}, {"limit", DL{sym("S"), 11}}})),
            "ops.tir:7:3: error: slice: dim 1 of f32[S,10]: slice [2, 11) must satisfy 0 <= start "
            "<= limit <= 10");
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Slice, {x},
                                       {{"start", DL{0, 5}}, {"limit", DL{sym("S"), 4}}})),
                       "slice [5, 4) must satisfy"));
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Slice, {x},
                                       {{"start", DL{0, -1}}, {"limit", DL{sym("S"), 4}}})),
                       "slice [-1, 4) must satisfy"));
  // Limit S + 1 is known to exceed S.
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Slice, {x},
                                       {{"start", DL{1, 0}}, {"limit", DL{sym("S") + Dim(1), 4}}})),
                       "dim 0 of f32[S,10]: slice [1, S + 1)"));
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Slice, {x},
                                       {{"start", DL{0, 0}}, {"limit", DL{sym("S"), 4}},
                                        {"stride", IL{2, 1}}})),
                       "stride 2 needs a constant extent, got limit - start = S"));
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Slice, {x},
                                       {{"start", DL{0, 0}}, {"limit", DL{sym("S"), 4}},
                                        {"stride", IL{1, 0}}})),
                       "stride 0 must be positive"));
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Slice, {x}, {{"start", DL{0}}, {"limit", DL{1}}})),
                       "need one entry per dim of f32[S,10]"));
}

TEST(SliceEval, StridedAndSymbolicStart) {
  OpBuilder b;
  auto op = b.add(OpKind::Slice, {b.arg(DType::F32, {3, 5})},
                  {{"start", DL{1, 0}}, {"limit", DL{3, 5}}, {"stride", IL{1, 2}}});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  EXPECT_EQ(runOne(*op, {iotaTensor(DType::F32, {3, 5})}),
            Tensor(DType::F32, {2, 3}, {5, 7, 9, 10, 12, 14}));

  // The last position of a sequence: start S-1, limit S; S comes from the operand's shape.
  auto last = b.add(OpKind::Slice, {b.arg(DType::F32, {2, sym("S")})},
                    {{"start", DL{0, sym("S") - Dim(1)}}, {"limit", DL{2, sym("S")}}});
  ASSERT_TRUE(last.isOk()) << errorOf(last);
  EXPECT_EQ((*last)->result()->type(), tt(DType::F32, {2, 1}));
  EXPECT_EQ(runOne(*last, {iotaTensor(DType::F32, {2, 4})}, {{"S", 4}}),
            Tensor(DType::F32, {2, 1}, {3, 7}));
}

TEST(ConcatShape, SumsTheAxis) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {sym("B"), sym("S")});
  Value* y = b.arg(DType::F32, {sym("B"), 3});
  auto t = b.infer(OpKind::Concat, {x, y, x}, {{"axis", int64_t{-1}}});
  ASSERT_TRUE(t.isOk()) << errorOf(t);
  EXPECT_EQ((*t)[0], tt(DType::F32, {sym("B"), Dim(2) * sym("S") + Dim(3)}));
  EXPECT_EQ(errorOf(b.infer(OpKind::Concat, {x, y}, {{"axis", int64_t{0}}})),
            "ops.tir:7:3: error: concat: operand 1 f32[B,3] differs from f32[B,S] in dim 1 "
            "(concat axis is 0)");
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Concat, {x, b.arg(DType::I32, {sym("B"), 3})},
                                       {{"axis", int64_t{1}}})),
                       "operand 1 i32[B,3] must have the element type and rank of operand 0"));
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Concat, {x}, {{"axis", int64_t{2}}})),
                       "axis 2 is out of range for rank 2"));
}

TEST(ConcatEval, InnerAxis) {
  OpBuilder b;
  auto op = b.add(OpKind::Concat, {b.arg(DType::F32, {2, 1}), b.arg(DType::F32, {2, 2})},
                  {{"axis", int64_t{1}}});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  EXPECT_EQ(runOne(*op, {Tensor(DType::F32, {2, 1}, {1, 2}),
                         Tensor(DType::F32, {2, 2}, {3, 4, 5, 6})}),
            Tensor(DType::F32, {2, 3}, {1, 3, 4, 2, 5, 6}));
}

TEST(PadShape, AddsLowAndHigh) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {sym("S"), 3});
  auto t = b.infer(OpKind::Pad, {x}, {{"low", IL{1, 0}}, {"high", IL{0, 2}}});
  ASSERT_TRUE(t.isOk()) << errorOf(t);
  EXPECT_EQ((*t)[0], tt(DType::F32, {sym("S") + Dim(1), 5}));
  EXPECT_EQ(errorOf(b.infer(OpKind::Pad, {x}, {{"low", IL{-1, 0}}, {"high", IL{0, 0}}})),
            "ops.tir:7:3: error: pad: padding must be non-negative, got low [-1,0], high [0,0]");
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Pad, {x}, {{"low", IL{1}}, {"high", IL{0, 0}}})),
                       "need one entry per dim of f32[S,3]"));
}

TEST(PadEval, FillsWithValue) {
  OpBuilder b;
  auto op = b.add(OpKind::Pad, {b.arg(DType::F32, {2, 2})},
                  {{"low", IL{1, 0}}, {"high", IL{0, 1}}, {"value", -1.5}});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  EXPECT_EQ(runOne(*op, {Tensor(DType::F32, {2, 2}, {1, 2, 3, 4})}),
            Tensor(DType::F32, {3, 3}, {-1.5, -1.5, -1.5, 1, 2, -1.5, 3, 4, -1.5}));
}

}  // namespace
}  // namespace tessera::ir::testing
