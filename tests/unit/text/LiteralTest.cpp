// The small pieces of syntax: symbolic dims, float attributes and dense literals, each checked
// against values computed independently of the parser.
#include <cmath>
#include <cstring>
#include <limits>

#include "TextTestUtil.h"
#include "ir/text/TensorLiteral.h"

namespace tessera::ir {
namespace {

using testing::parseOrDie;

// The type of parameter @p in `module { param @p : f32[<dims>] }`.
Shape parseDims(const std::string& dims) {
  auto m = parseOrDie("module {\n  param @p : f32[" + dims + "]\n}");
  return m ? m->params[0].type.shape : Shape{};
}

TEST(TextLiterals, DimExpressionsEvaluateLikeDimArithmetic) {
  Dim B = Dim::symbol("B"), S = Dim::symbol("S");
  Shape s = parseDims("B*S + 2*B - 1, 3*B/2, -B/2, (B + 1)*(B - 1), 2*(S/4), B - B, 7, --S, 1/2");
  ASSERT_EQ(s.size(), 9u);
  EXPECT_EQ(s[0], B * S + Dim(2) * B - Dim(1));
  EXPECT_EQ(s[1], (Dim(3) * B).divide(2));
  EXPECT_EQ(s[2], (-B).divide(2));
  EXPECT_EQ(s[3], B * B - Dim(1));
  EXPECT_EQ(s[4], S.divide(2));
  EXPECT_EQ(s[5], Dim(0));
  EXPECT_EQ(s[6], Dim(7));
  EXPECT_EQ(s[7], S);
  EXPECT_EQ(s[8], Dim(1).divide(2));
  // And the canonical text of each reads back to the same Dim.
  for (const Dim& d : s) EXPECT_EQ(parseDims(d.str())[0], d) << d.str();
}

TEST(TextLiterals, IntegerLimits) {
  Shape s = parseDims("9223372036854775807, -9223372036854775807");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].constant(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(s[1].constant(), -std::numeric_limits<int64_t>::max());
  // An attribute takes the full int64 range, INT64_MIN included.
  auto m = parseOrDie(
      "module {\n  func @f() -> () {\n"
      "    %r = random seed=-9223372036854775808 dist=uniform : f32[2]\n    return\n  }\n}\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->functions()[0]->ops()[0]->intAttr("seed"), std::numeric_limits<int64_t>::min());
  // One past either end is a located error, in dims and in attributes alike.
  EXPECT_EQ(testing::parseError("module {\n  param @p : f32[9223372036854775808]\n}"),
            "t.tir:2:18: error: integer 9223372036854775808 does not fit in 64 bits");
  EXPECT_EQ(testing::parseError("module {\n  func @f() -> () {\n"
                                "    %r = random seed=-9223372036854775809 dist=uniform : f32[2]\n"
                                "    return\n  }\n}\n"),
            "t.tir:3:22: error: integer -9223372036854775809 does not fit in 64 bits");
}

// full value=<v> round-trips every double exactly (NaN as NaN).
TEST(TextLiterals, FloatAttributesRoundTripBitExactly) {
  uint64_t state = 99;
  std::vector<double> values = {0.1,
                                -0.0,
                                1e-300,
                                5e-324,
                                1.7976931348623157e308,
                                1.0 / 3,
                                std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity(),
                                123456789.0};
  for (int i = 0; i < 500; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    double d;
    std::memcpy(&d, &state, 8);
    if (!std::isnan(d)) values.push_back(d);
  }
  std::string body;
  for (size_t i = 0; i < values.size(); ++i)
    body += "    %v" + std::to_string(i) +
            " = full value=" + text::printScalar(values[i], DType::F64) + " : f64[]\n";
  auto m = parseOrDie("module {\n  func @f() -> () {\n" + body + "    return\n  }\n}\n");
  ASSERT_TRUE(m);
  const Function* f = m->functions()[0].get();
  ASSERT_EQ(f->numOps(), static_cast<int>(values.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    double got = f->ops()[i]->floatAttr("value");
    EXPECT_EQ(std::memcmp(&got, &values[i], 8), 0) << values[i];
  }
  EXPECT_EQ(text::printScalar(0.1, DType::F64), "0.1");
  EXPECT_EQ(text::printScalar(1e-05, DType::F64), "1e-05");
  EXPECT_EQ(text::printScalar(-std::numeric_limits<double>::infinity(), DType::F64), "-inf");
  EXPECT_EQ(text::printScalar(std::nan(""), DType::F32), "nan");
  EXPECT_EQ(text::printScalar(static_cast<double>(0.1f), DType::F32), "0.1");
  EXPECT_EQ(text::printScalar(-7, DType::I64), "-7");
  EXPECT_EQ(text::printScalar(1, DType::Bool), "true");
}

TEST(TextLiterals, DenseFormSwitchesToHexAbove16Elements) {
  std::vector<double> v16(16, 1.0), v17(17, 1.0);
  v17[16] = -2.0;
  EXPECT_EQ(text::printDense(Tensor(DType::F32, {16}, v16)).substr(0, 21), "dense<f32[16], [1, 1,");
  std::string hex = "dense<f32[17], 0x";
  for (int i = 0; i < 16; ++i) hex += "0000803f";  // 1.0f little-endian
  hex += "000000c0>";                              // -2.0f
  EXPECT_EQ(text::printDense(Tensor(DType::F32, {17}, v17)), hex);
  // bf16 1.0 is 0x3f80, f16 1.0 is 0x3c00; i64 -1 is all ones; bool true is 01.
  EXPECT_EQ(text::printDense(Tensor(DType::BF16, {17}, v17)).substr(0, 26),
            "dense<bf16[17], 0x803f803f");
  EXPECT_EQ(text::printDense(Tensor(DType::F16, {17}, v17)).substr(0, 25),
            "dense<f16[17], 0x003c003c");
  std::vector<double> neg(17, -1.0);
  EXPECT_EQ(text::printDense(Tensor(DType::I64, {17}, neg)).substr(0, 33),
            "dense<i64[17], 0xffffffffffffffff");
  EXPECT_EQ(text::printDense(Tensor(DType::Bool, {17}, neg)).substr(0, 22),
            "dense<bool[17], 0x0101");
  EXPECT_EQ(text::printDense(Tensor(DType::I32, {2}, {3, -4})), "dense<i32[2], [3, -4]>");
  EXPECT_EQ(text::printDense(Tensor::scalar(DType::Bool, 0)), "dense<bool[], [false]>");
}

}  // namespace
}  // namespace tessera::ir
