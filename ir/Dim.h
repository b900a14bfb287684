// Symbolic dimensions: a dimension of a tensor is a polynomial over named symbols (B, S, ...)
// with rational coefficients, e.g. `B*S`, `4*B + 1`, `B/2`.
//
// Why polynomials rather than plain affine forms: flattening batch and sequence gives `B*S`, and
// partitioning divides by a mesh axis size (`B/2`). Both must stay exact and comparable so that a
// module compiles once and runs for any symbol values. Every Dim has one canonical form, so `==`
// and `str()` are structural. Division is only by positive integer constants; whether the result
// is an integer is a fact about the symbols (`sym B divisible_by 2`) checked by the verifier.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/Status.h"

namespace tessera::ir {

// A reduced fraction with a positive denominator.
struct Rational {
  int64_t num = 0;
  int64_t den = 1;
  static Rational make(int64_t n, int64_t d);
  bool isInteger() const { return den == 1; }
  auto operator<=>(const Rational&) const = default;
};

class Dim {
 public:
  // A product of symbols, sorted, with repetition (`B*B` is {"B","B"}); empty = the constant 1.
  using Monomial = std::vector<std::string>;

  Dim() = default;  // the constant 0
  Dim(int64_t c);   // NOLINT: constants convert implicitly, `Dim d = 4;`
  static Dim symbol(const std::string& name);

  bool isConstant() const;
  // The value if this Dim is an integer constant.
  std::optional<int64_t> constant() const;
  // The symbol's name if this Dim is exactly one symbol with coefficient 1.
  std::optional<std::string> asSymbol() const;
  // Every symbol that appears.
  std::vector<std::string> symbols() const;
  const std::map<Monomial, Rational>& terms() const { return terms_; }

  Dim operator+(const Dim& o) const;
  Dim operator-(const Dim& o) const;
  Dim operator-() const;
  Dim operator*(const Dim& o) const;
  // Exact division by a positive constant (B / 2 is the Dim B/2, not a rounded value).
  Dim divide(int64_t k) const;

  bool operator==(const Dim& o) const { return terms_ == o.terms_; }
  bool operator!=(const Dim& o) const { return !(*this == o); }
  bool operator<(const Dim& o) const { return terms_ < o.terms_; }  // any total order, for maps

  // Value for the given symbol bindings; an error names the unbound symbol or a non-integer result.
  StatusOr<int64_t> evaluate(const std::map<std::string, int64_t>& bindings) const;

  // Canonical text: terms by descending degree then name, constant last; e.g. "B*S + 2*B - 1",
  // "3*B/2". The parser in Parser.cpp reads every string this prints.
  std::string str() const;

 private:
  void add(const Monomial& m, Rational c);
  std::map<Monomial, Rational> terms_;  // never holds a zero coefficient
};

}  // namespace tessera::ir
