// Arithmetic on symbolic shape values, for folding ONNX shape sub-graphs at import time.
//
// A shape value is a list of Dims (polynomials over symbols). Exporters compute target shapes
// with integer arithmetic on Shape outputs — `B*S`, `H / heads` — so the four operations are
// done on Dims; a symbolic quotient is only accepted when it is exact (B*S*64 / 64, B*S*V / V),
// because ONNX integer division truncates and Tessera cannot represent a truncated symbol.
#include "frontend/onnx/Converters.h"

namespace tessera::frontend::onnximport {

using ir::Dim;

std::optional<ir::Shape> broadcastShape(const ir::Shape& a, const ir::Shape& b) {
  size_t n = std::max(a.size(), b.size());
  ir::Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const Dim* da = i < n - a.size() ? nullptr : &a[i - (n - a.size())];
    const Dim* db = i < n - b.size() ? nullptr : &b[i - (n - b.size())];
    if (!da) out[i] = *db;
    else if (!db) out[i] = *da;
    else if (*da == *db) out[i] = *da;
    else if (*da == Dim(1)) out[i] = *db;
    else if (*db == Dim(1)) out[i] = *da;
    else return std::nullopt;
  }
  return out;
}

std::optional<Dim> divideExact(const Dim& a, const Dim& b) {
  if (auto cb = b.constant()) {
    if (*cb == 0) return std::nullopt;
    if (auto ca = a.constant()) {
      if (*ca % *cb != 0) return std::nullopt;
      return Dim(*ca / *cb);
    }
    if (*cb < 0) return std::nullopt;
    Dim q = a.divide(*cb);
    for (const auto& [mono, coef] : q.terms())
      if (!coef.isInteger()) return std::nullopt;
    return q;
  }
  // b = c * m for one monomial m: divide every term of a by m, then by c.
  if (b.terms().size() != 1) return std::nullopt;
  const auto& [mono, coef] = *b.terms().begin();
  if (!coef.isInteger() || coef.num <= 0) return std::nullopt;
  Dim q;
  for (const auto& [am, ac] : a.terms()) {
    Dim::Monomial rest = am;
    for (const std::string& s : mono) {
      auto it = std::find(rest.begin(), rest.end(), s);
      if (it == rest.end()) return std::nullopt;
      rest.erase(it);
    }
    if (!ac.isInteger()) return std::nullopt;
    Dim term(ac.num);
    for (const std::string& s : rest) term = term * Dim::symbol(s);
    q = q + term;
  }
  return divideExact(q, Dim(coef.num));
}

std::optional<std::vector<Dim>> dimsArith(char op, const std::vector<Dim>& a,
                                          const std::vector<Dim>& b) {
  size_t n = std::max(a.size(), b.size());
  if ((a.size() != n && a.size() != 1) || (b.size() != n && b.size() != 1)) return std::nullopt;
  std::vector<Dim> out;
  for (size_t i = 0; i < n; ++i) {
    const Dim& x = a[a.size() == 1 ? 0 : i];
    const Dim& y = b[b.size() == 1 ? 0 : i];
    if (auto cx = x.constant(), cy = y.constant(); cx && cy && op != '/') {
      // Constants from the file may be huge (INT64_MAX slice ends): refuse to overflow.
      int64_t r = 0;
      bool overflow = op == '+'   ? __builtin_add_overflow(*cx, *cy, &r)
                      : op == '-' ? __builtin_sub_overflow(*cx, *cy, &r)
                                  : __builtin_mul_overflow(*cx, *cy, &r);
      if (overflow || r > (int64_t{1} << 53) || r < -(int64_t{1} << 53)) return std::nullopt;
      out.push_back(Dim(r));
      continue;
    }
    switch (op) {
      case '+': out.push_back(x + y); break;
      case '-': out.push_back(x - y); break;
      case '*': out.push_back(x * y); break;
      case '/': {
        auto cx = x.constant(), cy = y.constant();
        if (cx && cy) {
          if (*cy == 0) return std::nullopt;
          out.push_back(Dim(*cx / *cy));  // C truncation, like the interpreter's integer div
          break;
        }
        auto q = divideExact(x, y);
        if (!q) return std::nullopt;
        out.push_back(*q);
        break;
      }
      default: return std::nullopt;
    }
  }
  return out;
}

std::optional<bool> dimsEqual(const Dim& a, const Dim& b) {
  Dim diff = a - b;
  if (auto c = diff.constant()) return *c == 0;
  // A dim built from positive symbols with non-negative coefficients and a non-negative
  // constant is at least 1 (symbols are sizes >= 1): it never equals a negative constant.
  auto positive = [](const Dim& d) {
    for (const auto& [m, c] : d.terms())
      if (c.num < 0) return false;
    return true;
  };
  if (auto cb = b.constant(); cb && *cb < 0 && positive(a)) return false;
  if (auto ca = a.constant(); ca && *ca < 0 && positive(b)) return false;
  return std::nullopt;
}

}  // namespace tessera::frontend::onnximport
