// Arithmetic and canonical printing of symbolic dimensions.
#include "ir/Dim.h"

#include <algorithm>
#include <cassert>
#include <numeric>
#include <set>

namespace tessera::ir {

Rational Rational::make(int64_t n, int64_t d) {
  assert(d != 0);
  if (d < 0) { n = -n; d = -d; }
  int64_t g = std::gcd(n < 0 ? -n : n, d);
  if (g > 1) { n /= g; d /= g; }
  return {n, d};
}

static __int128 gcd128(__int128 a, __int128 b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b != 0) {
    __int128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

static Rational addR(Rational a, Rational b) {
  __int128 n = static_cast<__int128>(a.num) * b.den + static_cast<__int128>(b.num) * a.den;
  __int128 d = static_cast<__int128>(a.den) * b.den;
  __int128 g = gcd128(n, d);
  if (g > 1) { n /= g; d /= g; }
  return Rational::make(static_cast<int64_t>(n), static_cast<int64_t>(d));
}

static Rational mulR(Rational a, Rational b) {
  __int128 n = static_cast<__int128>(a.num) * b.num;
  __int128 d = static_cast<__int128>(a.den) * b.den;
  __int128 g = gcd128(n, d);
  if (g > 1) { n /= g; d /= g; }
  return Rational::make(static_cast<int64_t>(n), static_cast<int64_t>(d));
}

Dim::Dim(int64_t c) {
  if (c != 0) terms_[{}] = {c, 1};
}

Dim Dim::symbol(const std::string& name) {
  Dim d;
  d.terms_[{name}] = {1, 1};
  return d;
}

void Dim::add(const Monomial& m, Rational c) {
  auto it = terms_.find(m);
  if (it == terms_.end()) {
    if (c.num != 0) terms_[m] = c;
    return;
  }
  it->second = addR(it->second, c);
  if (it->second.num == 0) terms_.erase(it);
}

bool Dim::isConstant() const {
  return terms_.empty() || (terms_.size() == 1 && terms_.begin()->first.empty());
}

std::optional<int64_t> Dim::constant() const {
  if (terms_.empty()) return 0;
  if (!isConstant()) return std::nullopt;
  const Rational& r = terms_.begin()->second;
  if (!r.isInteger()) return std::nullopt;
  return r.num;
}

std::optional<std::string> Dim::asSymbol() const {
  if (terms_.size() != 1) return std::nullopt;
  const auto& [m, c] = *terms_.begin();
  if (m.size() != 1 || c != Rational{1, 1}) return std::nullopt;
  return m[0];
}

std::vector<std::string> Dim::symbols() const {
  std::set<std::string> s;
  for (const auto& [m, c] : terms_) s.insert(m.begin(), m.end());
  return {s.begin(), s.end()};
}

Dim Dim::operator+(const Dim& o) const {
  Dim r = *this;
  for (const auto& [m, c] : o.terms_) r.add(m, c);
  return r;
}

Dim Dim::operator-() const {
  Dim r;
  for (const auto& [m, c] : terms_) r.terms_[m] = {-c.num, c.den};
  return r;
}

Dim Dim::operator-(const Dim& o) const { return *this + (-o); }

Dim Dim::operator*(const Dim& o) const {
  Dim r;
  for (const auto& [ma, ca] : terms_)
    for (const auto& [mb, cb] : o.terms_) {
      Monomial m = ma;
      m.insert(m.end(), mb.begin(), mb.end());
      std::sort(m.begin(), m.end());
      r.add(m, mulR(ca, cb));
    }
  return r;
}

Dim Dim::divide(int64_t k) const {
  assert(k > 0);
  Dim r;
  for (const auto& [m, c] : terms_) r.terms_[m] = mulR(c, Rational{1, k});
  return r;
}

StatusOr<int64_t> Dim::evaluate(const std::map<std::string, int64_t>& bindings) const {
  __int128 num = 0;
  int64_t den = 1;
  // Sum with a common denominator; dims are small enough that __int128 does not overflow.
  for (const auto& [m, c] : terms_) {
    __int128 v = c.num;
    for (const std::string& s : m) {
      auto it = bindings.find(s);
      if (it == bindings.end()) return Status::error("symbol '" + s + "' has no value");
      v *= it->second;
    }
    int64_t l = std::lcm(den, c.den);
    num = num * (l / den) + v * (l / c.den);
    den = l;
  }
  if (num % den != 0)
    return Status::error("dimension '" + str() + "' is not an integer for these symbol values");
  return static_cast<int64_t>(num / den);
}

static std::string monomialStr(const Dim::Monomial& m) {
  std::string s;
  for (size_t i = 0; i < m.size(); ++i) s += (i ? "*" : "") + m[i];
  return s;
}

std::string Dim::str() const {
  if (terms_.empty()) return "0";
  std::vector<std::pair<Monomial, Rational>> ts(terms_.begin(), terms_.end());
  std::stable_sort(ts.begin(), ts.end(), [](const auto& a, const auto& b) {
    if (a.first.size() != b.first.size()) return a.first.size() > b.first.size();
    return a.first < b.first;
  });
  std::string out;
  bool first = true;
  for (const auto& [m, c] : ts) {
    int64_t n = c.num;
    if (!first) {
      out += n < 0 ? " - " : " + ";
      if (n < 0) n = -n;
    } else if (n < 0 && !m.empty()) {
      out += "-";
      n = -n;
    }
    first = false;
    if (m.empty()) {
      out += std::to_string(n);
    } else {
      if (n != 1) out += std::to_string(n) + "*";
      out += monomialStr(m);
    }
    if (c.den != 1) out += "/" + std::to_string(c.den);
  }
  return out;
}

}  // namespace tessera::ir
