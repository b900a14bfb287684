// Token access, error messages and the shared pieces of syntax (numbers, dims, types, shardings).
#include "ir/text/TextReader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

namespace tessera::ir::text {

// ---------------------------------------------------------------- tokens and errors

const Token& Reader::peek(size_t k) const {
  // tokens_ always ends with End or Error; looking past it keeps returning that token.
  size_t i = pos_ + k;
  return i < tokens_.size() ? tokens_[i] : tokens_.back();
}

const Token& Reader::take() {
  const Token& t = tokens_[pos_];
  if (pos_ + 1 < tokens_.size()) ++pos_;
  return t;
}

Status Reader::errorAt(const Token& t, const std::string& message) const {
  return Status::error(loc(t), message);
}

std::string Reader::describe(const Token& t) {
  switch (t.kind) {
    case Tok::Ident:
    case Tok::Int:
    case Tok::Float: return "'" + std::string(t.text) + "'";
    case Tok::Hex: return "a hex literal";
    case Tok::ValueName: return "'%" + std::string(t.text) + "'";
    case Tok::GlobalName: return "'@" + std::string(t.text) + "'";
    default: return tokName(t.kind);
  }
}

Status Reader::expected(const std::string& what) const {
  const Token& t = peek();
  if (t.kind == Tok::Error) return errorAt(t, t.message);
  return errorAt(t, "expected " + what + ", found " + describe(t));
}

Status Reader::expect(Tok k, const std::string& what) {
  if (!at(k)) return expected(what);
  take();
  return Status::ok();
}

Status Reader::expectWord(std::string_view w) {
  if (!atWord(w)) return expected("'" + std::string(w) + "'");
  take();
  return Status::ok();
}

StatusOr<std::string> Reader::parseIdent(const std::string& what) {
  if (!at(Tok::Ident)) return expected(what);
  return std::string(take().text);
}

// ---------------------------------------------------------------- numbers

StatusOr<int64_t> Reader::parseInt(const std::string& what) {
  const Token& start = peek();
  bool neg = at(Tok::Minus) && at(Tok::Int, 1);
  if (neg) take();
  if (!at(Tok::Int)) return expected(what);
  const Token& t = take();
  // Parse sign and digits together so that INT64_MIN is accepted.
  std::string s = (neg ? "-" : "") + std::string(t.text);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    return errorAt(start, "integer " + s + " does not fit in 64 bits");
  return v;
}

StatusOr<double> Reader::parseFloat(const std::string& what) {
  const Token& start = peek();
  bool neg = at(Tok::Minus) && (at(Tok::Int, 1) || at(Tok::Float, 1) || at(Tok::Ident, 1));
  if (neg) take();
  if (atWord("inf") || atWord("nan")) {
    bool inf = take().text == "inf";
    double v =
        inf ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
    return neg ? -v : v;
  }
  if (!at(Tok::Int) && !at(Tok::Float)) {
    if (neg) return errorAt(peek(), "expected a number after '-', found " + describe(peek()));
    return expected(what);
  }
  const Token& t = take();
  double v = 0;
  auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
  if (ec != std::errc() || p != t.text.data() + t.text.size())
    return errorAt(start, "number " + std::string(t.text) + " is out of the range of f64");
  return neg ? -v : v;
}

// ---------------------------------------------------------------- symbolic dims
//
// Dims are evaluated here as polynomials with overflow-checked rational coefficients, and only
// the canonical result is turned into a Dim: Dim's own arithmetic assumes its coefficients fit
// in 64 bits, which hostile input (`B/1000000000/1000000000/1000000000`) would violate.

namespace {

constexpr int kMaxDimNesting = 64;    // parentheses inside one dim
constexpr size_t kMaxDimTerms = 256;  // terms of one polynomial
constexpr size_t kMaxDegree = 16;     // symbols in one monomial

using Monomial = Dim::Monomial;

struct Frac {
  int64_t num;
  int64_t den;
};

// Reduces n/d (d != 0) and checks that both fit in int64 without being INT64_MIN.
bool makeFrac(__int128 n, __int128 d, Frac* out) {
  if (d < 0) {
    n = -n;
    d = -d;
  }
  __int128 a = n < 0 ? -n : n, b = d;
  while (b != 0) {
    __int128 t = a % b;
    a = b;
    b = t;
  }
  if (a > 1) {
    n /= a;
    d /= a;
  }
  const __int128 lim = std::numeric_limits<int64_t>::max();
  if (n > lim || n < -lim || d > lim) return false;
  *out = {static_cast<int64_t>(n), static_cast<int64_t>(d)};
  return true;
}

using Poly = std::map<Monomial, Frac>;

bool addTerm(Poly& p, const Monomial& m, Frac c) {
  auto it = p.find(m);
  if (it == p.end()) {
    if (c.num != 0) p[m] = c;
    return true;
  }
  Frac r;
  __int128 n =
      static_cast<__int128>(it->second.num) * c.den + static_cast<__int128>(c.num) * it->second.den;
  if (!makeFrac(n, static_cast<__int128>(it->second.den) * c.den, &r)) return false;
  if (r.num == 0)
    p.erase(it);
  else
    it->second = r;
  return true;
}

class DimParser {
 public:
  explicit DimParser(Reader& r) : r_(r) {}

  StatusOr<Poly> expr(int depth) {
    if (depth > kMaxDimNesting)
      return r_.errorAt(r_.peek(), "dimension expression is nested too deeply");
    TRY_ASSIGN(Poly acc, term(depth));
    while (r_.at(Tok::Plus) || r_.at(Tok::Minus)) {
      const Token& op = r_.take();
      TRY_ASSIGN(Poly rhs, term(depth));
      for (const auto& [m, c] : rhs)
        if (!addTerm(acc, m, op.kind == Tok::Plus ? c : Frac{-c.num, c.den})) return tooLarge(op);
      if (acc.size() > kMaxDimTerms) return tooLarge(op);
    }
    return acc;
  }

 private:
  Status tooLarge(const Token& at) {
    return r_.errorAt(at,
                      "dimension expression is too large (coefficients must fit in 64 bits, "
                      "at most " +
                          std::to_string(kMaxDimTerms) + " terms of degree " +
                          std::to_string(kMaxDegree) + ")");
  }

  StatusOr<Poly> term(int depth) {
    TRY_ASSIGN(Poly acc, unary(depth));
    while (r_.at(Tok::Star) || r_.at(Tok::Slash)) {
      const Token& op = r_.take();
      const Token& rhsTok = r_.peek();
      TRY_ASSIGN(Poly rhs, unary(depth));
      if (op.kind == Tok::Slash) {
        bool constant = rhs.size() == 1 && rhs.begin()->first.empty();
        Frac k = constant ? rhs.begin()->second : Frac{0, 1};
        if (!constant || k.den != 1 || k.num <= 0)
          return r_.errorAt(rhsTok,
                            "a dimension can only be divided by a positive integer "
                            "constant");
        for (auto& [m, c] : acc)
          if (!makeFrac(c.num, static_cast<__int128>(c.den) * k.num, &c)) return tooLarge(op);
        continue;
      }
      if (acc.size() * rhs.size() > kMaxDimTerms * kMaxDimTerms) return tooLarge(op);
      Poly prod;
      for (const auto& [ma, ca] : acc)
        for (const auto& [mb, cb] : rhs) {
          if (ma.size() + mb.size() > kMaxDegree) return tooLarge(op);
          Monomial m = ma;
          m.insert(m.end(), mb.begin(), mb.end());
          std::sort(m.begin(), m.end());
          Frac c;
          if (!makeFrac(static_cast<__int128>(ca.num) * cb.num,
                        static_cast<__int128>(ca.den) * cb.den, &c) ||
              !addTerm(prod, m, c))
            return tooLarge(op);
        }
      if (prod.size() > kMaxDimTerms) return tooLarge(op);
      acc = std::move(prod);
    }
    return acc;
  }

  StatusOr<Poly> unary(int depth) {
    bool neg = false;
    while (r_.at(Tok::Minus)) {  // a loop, not recursion: `------B` costs no stack
      r_.take();
      neg = !neg;
    }
    TRY_ASSIGN(Poly p, primary(depth));
    if (neg)
      for (auto& [m, c] : p) c.num = -c.num;
    return p;
  }

  StatusOr<Poly> primary(int depth) {
    const Token& t = r_.peek();
    if (t.kind == Tok::Int) {
      TRY_ASSIGN(int64_t v, r_.parseInt());
      Poly p;
      if (v != 0) p[{}] = {v, 1};
      return p;
    }
    if (t.kind == Tok::Ident) {
      r_.take();
      Poly p;
      p[{std::string(t.text)}] = {1, 1};
      return p;
    }
    if (t.kind == Tok::LParen) {
      r_.take();
      TRY_ASSIGN(Poly p, expr(depth + 1));
      TRY(r_.expect(Tok::RParen, "')' closing the dimension expression"));
      return p;
    }
    return r_.expected("a dimension (an integer, a symbol or a parenthesized expression)");
  }

  Reader& r_;
};

Dim toDim(const Poly& p) {
  Dim d;
  for (const auto& [m, c] : p) {
    Dim t(c.num);
    for (const std::string& s : m) t = t * Dim::symbol(s);
    d = d + t.divide(c.den);
  }
  return d;
}

}  // namespace

StatusOr<Dim> Reader::parseDim() {
  DimParser p(*this);
  TRY_ASSIGN(Poly poly, p.expr(0));
  return toDim(poly);
}

StatusOr<Shape> Reader::parseShape() {
  TRY(expect(Tok::LBracket, "'[' starting a shape"));
  Shape s;
  if (at(Tok::RBracket)) {
    take();
    return s;
  }
  for (;;) {
    TRY_ASSIGN(Dim d, parseDim());
    s.push_back(std::move(d));
    if (at(Tok::Comma)) {
      take();
      continue;
    }
    TRY(expect(Tok::RBracket, "',' or ']' in a shape"));
    return s;
  }
}

StatusOr<DType> Reader::parseDTypeWord() {
  if (!at(Tok::Ident)) return expected("an element type (f32, f64, bf16, f16, i32, i64, bool)");
  std::optional<DType> dt = ir::parseDType(peek().text);
  if (!dt)
    return errorAt(peek(), "unknown element type " + describe(peek()) +
                               "; expected f32, f64, bf16, f16, i32, i64 or bool");
  take();
  return *dt;
}

StatusOr<TensorType> Reader::parseType() {
  TRY_ASSIGN(DType dt, parseDTypeWord());
  TRY_ASSIGN(Shape s, parseShape());
  return TensorType{dt, std::move(s)};
}

// ---------------------------------------------------------------- shardings

bool Reader::atSharding() const {
  return at(Tok::LBrace) || (at(Tok::GlobalName) && at(Tok::LBrace, 1));
}

// `:p1` (or `:p-1`, which Sharding::str prints for a negative priority the verifier rejects).
static StatusOr<int> parsePriority(Reader& r) {
  const Token& t = r.peek();
  if (!r.at(Tok::Ident) || t.text.empty() || t.text[0] != 'p')
    return r.expected("a priority such as 'p1' after ':'");
  std::string digits(t.text.substr(1));
  r.take();
  bool neg = false;
  if (digits.empty()) {
    if (!r.at(Tok::Minus) || !r.at(Tok::Int, 1)) return r.expected("a priority number after 'p'");
    r.take();
    neg = true;
    digits = std::string(r.take().text);
  }
  int v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size())
    return r.errorAt(t, "expected a priority such as 'p1', found " + Reader::describe(t));
  return neg ? -v : v;
}

StatusOr<Sharding> Reader::parseSharding() {
  Sharding s;
  if (at(Tok::GlobalName)) s.mesh = std::string(take().text);
  TRY(expect(Tok::LBrace, "'{' starting a sharding"));
  if (at(Tok::RBrace)) {
    take();
  } else {
    for (;;) {
      DimSharding d;
      if (at(Tok::Minus)) {
        take();
      } else if (at(Tok::Question)) {
        take();
        d.open = true;
      } else if (at(Tok::Ident)) {
        d.axes.push_back(std::string(take().text));
      } else if (at(Tok::LParen)) {
        take();
        for (;;) {
          TRY_ASSIGN(std::string a, parseIdent("a mesh axis"));
          d.axes.push_back(std::move(a));
          if (at(Tok::Comma)) {
            take();
            continue;
          }
          TRY(expect(Tok::RParen, "',' or ')' in a list of mesh axes"));
          break;
        }
      } else {
        return expected("a dimension sharding ('-', '?', a mesh axis or '(axes)')");
      }
      if (at(Tok::Colon)) {
        take();
        TRY_ASSIGN(int prio, parsePriority(*this));
        d.priority = prio;
      }
      s.dims.push_back(std::move(d));
      if (at(Tok::Comma)) {
        take();
        continue;
      }
      TRY(expect(Tok::RBrace, "',' or '}' in a sharding"));
      break;
    }
  }
  if (atWord("partial") && at(Tok::LBrace, 1)) {
    take();
    take();
    for (;;) {
      TRY_ASSIGN(std::string axis, parseIdent("a mesh axis in partial{...}"));
      TRY(expect(Tok::Colon, "':' after the partial axis"));
      if (atWord("sum") || atWord("max")) {
        s.partial.emplace_back(axis, take().text == "sum" ? PartialKind::Sum : PartialKind::Max);
      } else {
        return expected("'sum' or 'max'");
      }
      if (at(Tok::Comma)) {
        take();
        continue;
      }
      TRY(expect(Tok::RBrace, "',' or '}' in partial{...}"));
      break;
    }
  }
  return s;
}

}  // namespace tessera::ir::text
