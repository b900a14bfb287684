// The library's column-sum path of reduce_sum / reduce_mean (leading axes reduced, the rest kept:
// bias and layer-norm gradients), on odd sizes that leave a vector tail, small (one thread) and
// large (split over the pool by columns): against the interpreter, and bitwise between 1 and 2
// threads.
#include "tests/unit/engine/EngineTestUtil.h"

namespace tessera::codegen::testing {
namespace {

using ir::DType;

const char* kModule = R"(module @m {
 sym B
 func @main(%a: f32[7,13,37], %b: f32[B,1030], %c: f64[129,5], %d: f32[B,3,2051], %e: f32[3,4,5]) -> (f32[37], f32[13,37], f32[1030], f64[5], f32[2051], f32[3,2051], f32[4,5]) {
  %r0 = reduce_sum %a axes=[0,1] : f32[37]
  %r1 = reduce_mean %a axes=[0] : f32[13,37]
  %r2 = reduce_sum %b axes=[0] : f32[1030]
  %r3 = reduce_sum %c axes=[0] : f64[5]
  %r4 = reduce_sum %d axes=[0,1] : f32[2051]
  %r5 = reduce_mean %d axes=[0] : f32[3,2051]
  %r6 = reduce_sum %e axes=[0] : f32[4,5]
  return %r0, %r1, %r2, %r3, %r4, %r5, %r6
 }
})";

std::map<std::string, ir::Tensor> inputs(int64_t b) {
  return {{"a", randomTensor(DType::F32, {7, 13, 37}, 31)},
          {"b", randomTensor(DType::F32, {b, 1030}, 32)},
          {"c", randomTensor(DType::F64, {129, 5}, 33)},
          {"d", randomTensor(DType::F32, {b, 3, 2051}, 34, -100, 100)},
          {"e", randomTensor(DType::F32, {3, 4, 5}, 35)}};
}

std::vector<ir::Tensor> runWithThreads(const std::map<std::string, ir::Tensor>& in, int threads) {
  auto m = parse(kModule);
  EngineOptions o = evalOptions();
  o.threads = threads;
  auto e = Engine::compile(*m, "main", o);
  EXPECT_TRUE(e.isOk()) << e.status().message();
  if (!e.isOk()) return {};
  auto r = (*e)->run(in);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? *r : std::vector<ir::Tensor>{};
}

TEST(LibraryReduce, ColumnSumsMatchTheInterpreter) {
  expectMatchesInterpreter(kModule, inputs(1), 1e-6);
  expectMatchesInterpreter(kModule, inputs(33), 1e-6);  // above the parallel threshold
}

TEST(LibraryReduce, ColumnSumsAreTheSameBitsOnOneAndTwoThreads) {
  auto in = inputs(40);
  auto one = runWithThreads(in, 1), two = runWithThreads(in, 2);
  ASSERT_EQ(one.size(), 7u);
  ASSERT_EQ(two.size(), 7u);
  for (size_t i = 0; i < one.size(); ++i)
    for (int64_t j = 0; j < one[i].numElements(); ++j)
      ASSERT_EQ(one[i][j], two[i][j]) << "result " << i << " element " << j;
}

// A hand-computed column sum: the rows 1..R of column c hold c + r, so the sum is R c + R(R+1)/2.
TEST(LibraryReduce, ColumnSumsByFormula) {
  const int64_t rows = 300, cols = 1027;
  std::vector<double> v(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) v[r * cols + c] = static_cast<double>(c + r + 1);
  auto m = parse(R"(module @m {
 func @main(%x: f32[300,1027]) -> (f32[1027]) {
  %r = reduce_sum %x axes=[0] : f32[1027]
  return %r
 }
})");
  auto e = Engine::compile(*m, "main", evalOptions());
  ASSERT_TRUE(e.isOk()) << e.status().message();
  auto r = (*e)->run({{"x", ir::Tensor(DType::F32, {rows, cols}, std::move(v))}});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  for (int64_t c = 0; c < cols; ++c)
    ASSERT_EQ((*r)[0][c], static_cast<double>(rows * c + rows * (rows + 1) / 2)) << "column " << c;
}

}  // namespace
}  // namespace tessera::codegen::testing
