// GEMMs (matmul, dot with batch dims, transposed and strided operands) and library kernels
// (gather, scatter_add, reductions over leading axes, the reference fallback) against the
// interpreter.
#include "tests/unit/engine/EngineTestUtil.h"

namespace tessera::codegen::testing {
namespace {

using ir::DType;

TEST(Gemm, MatmulFoldsBatchIntoRows) {
  std::string text = R"(module @m {
 sym B
 func @main(%x: f32[B,7,13], %w: f32[13,5], %b: f32[5]) -> (f32[B,7,5]) {
  %0 = matmul %x, %w : f32[B,7,5]
  %1 = add %0, %b : f32[B,7,5]
  return %1
 }
})";
  expectMatchesInterpreter(text, {{"x", randomTensor(DType::F32, {3, 7, 13}, 1)},
                                  {"w", randomTensor(DType::F32, {13, 5}, 2)},
                                  {"b", randomTensor(DType::F32, {5}, 3)}});
}

TEST(Gemm, TransposedOperandsBecomeBlasFlags) {
  std::string text = R"(module @m {
 func @main(%a: f32[9,6], %b: f32[11,9]) -> (f32[6,11], f32[11,6]) {
  %at = transpose %a perm=[1,0] : f32[6,9]
  %bt = transpose %b perm=[1,0] : f32[9,11]
  %0 = matmul %at, %bt : f32[6,11]
  %1 = dot %b, %a lhs_batch=[] rhs_batch=[] lhs_contract=[1] rhs_contract=[0] : f32[11,6]
  return %0, %1
 }
})";
  auto m = parse(text);
  auto e = Engine::compile(*m, "main", evalOptions());
  ASSERT_TRUE(e.isOk()) << e.status().message();
  // Two GEMMs, no transpose copies.
  EXPECT_EQ((*e)->executable().thunks.size(), 2u) << (*e)->executable().str();
  expectMatchesInterpreter(text, {{"a", randomTensor(DType::F32, {9, 6}, 4)},
                                  {"b", randomTensor(DType::F32, {11, 9}, 5)}});
}

TEST(Gemm, AttentionBatchedDotsOverStridedHeads) {
  // Q, K, V as strided slices of one projection, split into heads: the dots read them in place.
  std::string text = R"(module @m {
 sym B
 sym S
 func @main(%qkv: f32[B,S,24]) -> (f32[B,2,S,4], f32[B,S,8]) {
  %q0 = slice %qkv start=[0,0,0] limit=[B,S,8] : f32[B,S,8]
  %q1 = reshape %q0 : f32[B,S,2,4]
  %q = transpose %q1 perm=[0,2,1,3] : f32[B,2,S,4]
  %k0 = slice %qkv start=[0,0,8] limit=[B,S,16] : f32[B,S,8]
  %k1 = reshape %k0 : f32[B,S,2,4]
  %k = transpose %k1 perm=[0,2,1,3] : f32[B,2,S,4]
  %v0 = slice %qkv start=[0,0,16] limit=[B,S,24] : f32[B,S,8]
  %v1 = reshape %v0 : f32[B,S,2,4]
  %v = transpose %v1 perm=[0,2,1,3] : f32[B,2,S,4]
  %s = dot %q, %k lhs_batch=[0,1] rhs_batch=[0,1] lhs_contract=[3] rhs_contract=[3] : f32[B,2,S,S]
  %p = softmax %s axis=-1 : f32[B,2,S,S]
  %o = dot %p, %v lhs_batch=[0,1] rhs_batch=[0,1] lhs_contract=[3] rhs_contract=[2] : f32[B,2,S,4]
  %ot = transpose %o perm=[0,2,1,3] : f32[B,S,2,4]
  %r = reshape %ot : f32[B,S,8]
  return %o, %r
 }
})";
  expectMatchesInterpreter(text, {{"qkv", randomTensor(DType::F32, {2, 5, 24}, 6)}});
}

TEST(Gemm, ContractionOverTwoDimsAndF64) {
  std::string text = R"(module @m {
 sym B
 func @main(%x: f64[B,3,4], %y: f64[B,3,5]) -> (f64[4,5]) {
  %0 = dot %x, %y lhs_batch=[] rhs_batch=[] lhs_contract=[0,1] rhs_contract=[0,1] : f64[4,5]
  return %0
 }
})";
  expectMatchesInterpreter(text, {{"x", randomTensor(DType::F64, {2, 3, 4}, 7)},
                                  {"y", randomTensor(DType::F64, {2, 3, 5}, 8)}},
                           1e-12);
}

TEST(Library, GatherScatterAndLeadingReductions) {
  std::string text = R"(module @m {
 sym B
 func @main(%table: f32[10,6], %idx: i64[B,3], %u: f32[B,3,6]) -> (f32[B,3,6], f32[10,6], f32[6], f32[B,6]) {
  %g = gather %table, %idx axis=0 : f32[B,3,6]
  %z = full value=0 : f32[10,6]
  %s = scatter_add %z, %idx, %u axis=0 : f32[10,6]
  %r = reduce_sum %u axes=[0,1] : f32[6]
  %m = reduce_max %u axes=[1] : f32[B,6]
  return %g, %s, %r, %m
 }
})";
  expectMatchesInterpreter(text, {{"table", randomTensor(DType::F32, {10, 6}, 9)},
                                  {"idx", randomTensor(DType::I64, {4, 3}, 10, 0, 10)},
                                  {"u", randomTensor(DType::F32, {4, 3, 6}, 11)}});
}

TEST(Library, ReferenceFallbackOps) {
  std::string text = R"(module @m {
 func @main(%x: f32[4,7]) -> (f32[4,7], f32[4,3], i64[4,3], f32[6,9], f32[8,7]) {
  %c = cumsum %x axis=1 : f32[4,7]
  %t, %i = top_k %x k=3 : f32[4,3], i64[4,3]
  %p = pad %x low=[1,1] high=[1,1] value=2 : f32[6,9]
  %k = concat %x, %x axis=0 : f32[8,7]
  return %c, %t, %i, %p, %k
 }
})";
  expectMatchesInterpreter(text, {{"x", randomTensor(DType::F32, {4, 7}, 12)}});
}

TEST(Library, BadIndexIsAnErrorNamingTheOp) {
  std::string text = R"(module @m {
 func @main(%table: f32[10,6], %idx: i64[3]) -> (f32[3,6]) {
  %g = gather %table, %idx axis=0 : f32[3,6]
  return %g
 }
})";
  auto m = parse(text);
  auto e = Engine::compile(*m, "main", evalOptions());
  ASSERT_TRUE(e.isOk());
  ir::Tensor idx(DType::I64, {3}, {1, 12, 2});
  auto r = (*e)->run({{"table", randomTensor(DType::F32, {10, 6}, 1)}, {"idx", idx}});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("test.tir:3:"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("index 12"), std::string::npos) << r.status().message();
}

TEST(Library, CollectivesReportTheMissingRuntime) {
  std::string text = R"(module @m {
 mesh @mesh = <dp=2>
 func @main(%x: f32[4]) -> (f32[4]) {
  %y = all_reduce %x axes=[dp] : f32[4]
  return %y
 }
})";
  auto m = parse(text);
  auto e = Engine::compile(*m, "main", evalOptions());
  ASSERT_TRUE(e.isOk());
  auto r = (*e)->run({{"x", randomTensor(DType::F32, {4}, 1)}});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("all_reduce"), std::string::npos);
  EXPECT_NE(r.status().message().find("test.tir:4:"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace tessera::codegen::testing
