// Symbolic dimensions: canonical text, arithmetic identities and evaluation.
#include <gtest/gtest.h>

#include "ir/Dim.h"

namespace tessera::ir {
namespace {

const Dim B = Dim::symbol("B");
const Dim S = Dim::symbol("S");

TEST(Dim, CanonicalText) {
  EXPECT_EQ((B * S + Dim(2) * B - Dim(1)).str(), "B*S + 2*B - 1");
  // The same polynomial built in another order prints the same.
  EXPECT_EQ((Dim(-1) + B + S * B + B).str(), "B*S + 2*B - 1");
  EXPECT_EQ((Dim(3) * B).divide(2).str(), "3*B/2");
  EXPECT_EQ((-B).divide(2).str(), "-B/2");
  EXPECT_EQ((Dim(3) - Dim(2) * B).str(), "-2*B + 3");
  EXPECT_EQ((B * B - Dim(1)).str(), "B*B - 1");
  EXPECT_EQ(Dim(7).divide(2).str(), "7/2");
  EXPECT_EQ(Dim(-5).str(), "-5");
  EXPECT_EQ(Dim().str(), "0");
  EXPECT_EQ((B - B).str(), "0");
  EXPECT_EQ((S * B + B).str(), "B*S + B");
}

TEST(Dim, StructuralEquality) {
  EXPECT_EQ(B * S, S * B);
  EXPECT_EQ((B + Dim(1)) * (B - Dim(1)), B * B - Dim(1));
  EXPECT_EQ(B.divide(2) * Dim(2), B);
  EXPECT_EQ(B.divide(2) + B.divide(2), B);
  EXPECT_NE(B, S);
  EXPECT_EQ(B - B, Dim(0));
}

TEST(Dim, Queries) {
  EXPECT_EQ(Dim(4).constant(), 4);
  EXPECT_EQ(Dim().constant(), 0);
  EXPECT_FALSE(Dim(7).divide(2).constant().has_value());
  EXPECT_TRUE(Dim(7).divide(2).isConstant());
  EXPECT_FALSE(B.constant().has_value());
  EXPECT_EQ(B.asSymbol(), "B");
  EXPECT_FALSE((Dim(2) * B).asSymbol().has_value());
  EXPECT_FALSE((B + Dim(1)).asSymbol().has_value());
  EXPECT_EQ((B * S + B).symbols(), (std::vector<std::string>{"B", "S"}));
}

TEST(Dim, Evaluate) {
  std::map<std::string, int64_t> v = {{"B", 3}, {"S", 4}};
  auto e = (B * S + Dim(2) * B - Dim(1)).evaluate(v);
  ASSERT_TRUE(e.isOk());
  EXPECT_EQ(*e, 3 * 4 + 2 * 3 - 1);
  auto half = (Dim(3) * B).divide(2).evaluate({{"B", 4}});
  ASSERT_TRUE(half.isOk());
  EXPECT_EQ(*half, 6);
  auto neg = (-B).divide(2).evaluate({{"B", 4}});
  ASSERT_TRUE(neg.isOk());
  EXPECT_EQ(*neg, -2);
  // B/2 + S/2 is an integer when both halves are halves.
  auto sum = (B.divide(2) + S.divide(2)).evaluate({{"B", 3}, {"S", 5}});
  ASSERT_TRUE(sum.isOk());
  EXPECT_EQ(*sum, 4);
}

TEST(Dim, EvaluateErrors) {
  auto odd = (Dim(3) * B).divide(2).evaluate({{"B", 3}});
  ASSERT_FALSE(odd.isOk());
  EXPECT_EQ(odd.status().message(),
            "error: dimension '3*B/2' is not an integer for these symbol values");
  auto unbound = (B * S).evaluate({{"B", 3}});
  ASSERT_FALSE(unbound.isOk());
  EXPECT_EQ(unbound.status().message(), "error: symbol 'S' has no value");
}

}  // namespace
}  // namespace tessera::ir
