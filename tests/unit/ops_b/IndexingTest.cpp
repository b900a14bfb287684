// gather, scatter_add, one_hot and top_k: shape rules (symbolic dims, errors) and semantics
// against hand-computed tensors.
#include "tests/unit/ops_b/OpsTestUtil.h"

namespace tessera::ir::testing {
namespace {

using IL = std::vector<int64_t>;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(GatherShape, EmbeddingLookupAndInnerAxis) {
  OpBuilder b;
  Value* table = b.arg(DType::F32, {100, 64});
  Value* tokens = b.arg(DType::I64, {sym("B"), sym("S")});
  auto t = b.infer(OpKind::Gather, {table, tokens}, {{"axis", int64_t{0}}});
  ASSERT_TRUE(t.isOk()) << errorOf(t);
  EXPECT_EQ((*t)[0], tt(DType::F32, {sym("B"), sym("S"), 64}));
  Value* x = b.arg(DType::BF16, {2, 7, 3});
  auto u = b.infer(OpKind::Gather, {x, b.arg(DType::I32, {5})}, {{"axis", int64_t{-2}}});
  ASSERT_TRUE(u.isOk()) << errorOf(u);
  EXPECT_EQ((*u)[0], tt(DType::BF16, {2, 5, 3}));
}

TEST(GatherShape, Errors) {
  OpBuilder b;
  Value* table = b.arg(DType::F32, {100, 64});
  EXPECT_EQ(errorOf(b.infer(OpKind::Gather, {table, b.arg(DType::F32, {3})},
                            {{"axis", int64_t{0}}})),
            "ops.tir:7:3: error: gather: indices must be an integer tensor, got f32[3]");
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::Gather, {table, b.arg(DType::I32, {3})},
                                       {{"axis", int64_t{2}}})),
                       "axis 2 is out of range for rank 2"));
}

TEST(GatherEval, RowsAndColumns) {
  OpBuilder b;
  auto rows = b.add(OpKind::Gather, {b.arg(DType::F32, {3, 2}), b.arg(DType::I32, {2, 2})},
                    {{"axis", int64_t{0}}});
  ASSERT_TRUE(rows.isOk()) << errorOf(rows);
  Tensor table(DType::F32, {3, 2}, {0, 1, 10, 11, 20, 21});
  EXPECT_EQ(runOne(*rows, {table, Tensor(DType::I32, {2, 2}, {2, 0, 1, 1})}),
            Tensor(DType::F32, {2, 2, 2}, {20, 21, 0, 1, 10, 11, 10, 11}));
  auto cols = b.add(OpKind::Gather, {b.arg(DType::F32, {3, 2}), b.arg(DType::I64, {3})},
                    {{"axis", int64_t{1}}});
  ASSERT_TRUE(cols.isOk()) << errorOf(cols);
  EXPECT_EQ(runOne(*cols, {table, Tensor(DType::I64, {3}, {1, 1, 0})}),
            Tensor(DType::F32, {3, 3}, {1, 1, 0, 11, 11, 10, 21, 21, 20}));
}

TEST(GatherEval, OutOfRangeIndexIsAnError) {
  OpBuilder b;
  auto op = b.add(OpKind::Gather, {b.arg(DType::F32, {3, 2}), b.arg(DType::I32, {2})},
                  {{"axis", int64_t{0}}});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  Tensor table(DType::F32, {3, 2});
  EXPECT_EQ(errorOf(runOp(**op, {table, Tensor(DType::I32, {2}, {0, 3})})),
            "ops.tir:7:3: error: gather: index 3 at flat position 1 of the indices [2] is out of "
            "range [0, 3)");
  EXPECT_TRUE(contains(errorOf(runOp(**op, {table, Tensor(DType::I32, {2}, {-1, 0})})),
                       "index -1 at flat position 0"));
}

TEST(ScatterAddShape, UpdatesHaveTheGatheredShape) {
  OpBuilder b;
  Value* base = b.arg(DType::F32, {100, 64});
  Value* tokens = b.arg(DType::I32, {sym("B"), sym("S")});
  Value* upd = b.arg(DType::F32, {sym("B"), sym("S"), 64});
  auto t = b.infer(OpKind::ScatterAdd, {base, tokens, upd}, {{"axis", int64_t{0}}});
  ASSERT_TRUE(t.isOk()) << errorOf(t);
  EXPECT_EQ((*t)[0], tt(DType::F32, {100, 64}));
  EXPECT_EQ(errorOf(b.infer(OpKind::ScatterAdd, {base, tokens, b.arg(DType::F32, {sym("B"), 64})},
                            {{"axis", int64_t{0}}})),
            "ops.tir:7:3: error: scatter_add: updates f32[B,64] must have shape [B,S,64] (base "
            "f32[100,64] with dim 0 replaced by indices i32[B,S])");
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::ScatterAdd,
                                       {base, tokens, b.arg(DType::F64, {sym("B"), sym("S"), 64})},
                                       {{"axis", int64_t{0}}})),
                       "must have the element type of base"));
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::ScatterAdd,
                                       {base, b.arg(DType::Bool, {sym("B"), sym("S")}), upd},
                                       {{"axis", int64_t{0}}})),
                       "indices must be an integer tensor"));
}

TEST(ScatterAddEval, AccumulatesRepeatedIndices) {
  OpBuilder b;
  auto op = b.add(OpKind::ScatterAdd,
                  {b.arg(DType::F32, {2, 3}), b.arg(DType::I32, {4}), b.arg(DType::F32, {2, 4})},
                  {{"axis", int64_t{1}}});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  Tensor base(DType::F32, {2, 3}, {1, 1, 1, 0, 0, 0});
  Tensor idx(DType::I32, {4}, {2, 0, 2, 2});
  Tensor upd(DType::F32, {2, 4}, {1, 2, 3, 4, 10, 20, 30, 40});
  // Row 0: col0 += 2, col2 += 1+3+4. Row 1: col0 += 20, col2 += 10+30+40.
  EXPECT_EQ(runOne(*op, {base, idx, upd}), Tensor(DType::F32, {2, 3}, {3, 1, 9, 20, 0, 80}));
  EXPECT_TRUE(contains(errorOf(runOp(**op, {base, Tensor(DType::I32, {4}, {0, 0, 5, 0}), upd})),
                       "scatter_add: index 5 at flat position 2"));
}

TEST(OneHotShape, AppendsDepth) {
  OpBuilder b;
  Value* idx = b.arg(DType::I64, {sym("B"), sym("S")});
  auto t = b.infer(OpKind::OneHot, {idx}, {{"depth", int64_t{10}}, {"dtype", DType::BF16}});
  ASSERT_TRUE(t.isOk()) << errorOf(t);
  EXPECT_EQ((*t)[0], tt(DType::BF16, {sym("B"), sym("S"), 10}));
  EXPECT_EQ(errorOf(b.infer(OpKind::OneHot, {idx}, {{"depth", int64_t{0}}, {"dtype", DType::F32}})),
            "ops.tir:7:3: error: one_hot: depth must be positive, got 0");
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::OneHot, {b.arg(DType::F32, {3})},
                                       {{"depth", int64_t{4}}, {"dtype", DType::F32}})),
                       "indices must be an integer tensor, got f32[3]"));
}

TEST(OneHotEval, OutOfRangeGivesZeroRow) {
  OpBuilder b;
  auto op = b.add(OpKind::OneHot, {b.arg(DType::I32, {4})},
                  {{"depth", int64_t{3}}, {"dtype", DType::F32}});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  EXPECT_EQ(runOne(*op, {Tensor(DType::I32, {4}, {2, 0, 3, -1})}),
            Tensor(DType::F32, {4, 3}, {0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(TopKShape, ValuesAndI64Indices) {
  OpBuilder b;
  Value* x = b.arg(DType::F32, {sym("T"), 8});
  auto t = b.infer(OpKind::TopK, {x}, {{"k", int64_t{2}}});
  ASSERT_TRUE(t.isOk()) << errorOf(t);
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0], tt(DType::F32, {sym("T"), 2}));
  EXPECT_EQ((*t)[1], tt(DType::I64, {sym("T"), 2}));
  // k against a symbolic last dim cannot be checked statically.
  EXPECT_TRUE(b.infer(OpKind::TopK, {b.arg(DType::F32, {sym("E")})}, {{"k", int64_t{2}}}).isOk());
  EXPECT_EQ(errorOf(b.infer(OpKind::TopK, {x}, {{"k", int64_t{9}}})),
            "ops.tir:7:3: error: top_k: k=9 exceeds the last dim of f32[T,8]");
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::TopK, {x}, {{"k", int64_t{0}}})),
                       "k must be positive"));
  EXPECT_TRUE(contains(errorOf(b.infer(OpKind::TopK, {b.arg(DType::F32, {})},
                                       {{"k", int64_t{1}}})),
                       "rank >= 1"));
}

TEST(TopKEval, DescendingWithTiesKeepingLowerIndex) {
  OpBuilder b;
  auto op = b.add(OpKind::TopK, {b.arg(DType::F32, {2, 5})}, {{"k", int64_t{3}}});
  ASSERT_TRUE(op.isOk()) << errorOf(op);
  auto r = runOp(**op, {Tensor(DType::F32, {2, 5}, {1, 5, 3, 5, 2, -1, -2, -1, -3, -1})});
  ASSERT_TRUE(r.isOk()) << errorOf(r);
  EXPECT_EQ((*r)[0], Tensor(DType::F32, {2, 3}, {5, 5, 3, -1, -1, -1}));
  EXPECT_EQ((*r)[1], Tensor(DType::I64, {2, 3}, {1, 3, 2, 0, 2, 4}));
}

}  // namespace
}  // namespace tessera::ir::testing
