// Views: reshape, transpose, broadcast_in_dim and slice as new strides over the same buffer.
//
// Reshape without a copy needs the old and new shapes to split into groups of equal products
// whose old dims nest (stride[i] == stride[i+1] * size[i+1]). Shapes are symbolic, so group
// boundaries are found by comparing products at probe values of the symbols and then confirmed
// exactly (Dim equality).
#include <map>

#include "codegen/fusion/Lowering.h"

namespace tessera::codegen {

std::vector<ir::Dim> rowMajorStrides(const ir::Shape& s) {
  std::vector<ir::Dim> st(s.size());
  ir::Dim acc(1);
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc = acc * s[i];
  }
  return st;
}

namespace {

// Distinct primes for symbols: products of different symbol sets differ, so the greedy matching
// only needs them to order the two running products.
int64_t probe(const ir::Dim& d) {
  std::map<std::string, int64_t> b;
  static const int64_t primes[] = {1009, 1013, 1019, 1021, 1031, 1033, 1039, 1049};
  int n = 0;
  for (const std::string& s : d.symbols()) b[s] = primes[(n++) % 8];
  StatusOr<int64_t> v = d.evaluate(b);
  return v.isOk() ? *v : 0;
}

bool isOne(const ir::Dim& d) { return d == ir::Dim(1); }

}  // namespace

std::optional<BufferView> reshapeView(const BufferView& view, const ir::Shape& shape) {
  const ir::Shape& old = view.shape;
  BufferView out;
  out.buffer = view.buffer;
  out.offset = view.offset;
  out.shape = shape;
  out.strides.assign(shape.size(), ir::Dim(0));
  size_t i = 0, j = 0;
  while (i < old.size() || j < shape.size()) {
    // Dims of size 1 take any stride.
    if (j < shape.size() && isOne(shape[j])) {
      out.strides[j++] = ir::Dim(1);
      continue;
    }
    if (i < old.size() && isOne(old[i])) {
      ++i;
      continue;
    }
    if (i >= old.size() || j >= shape.size()) return std::nullopt;
    std::vector<size_t> gi{i++}, gj{j++};
    ir::Dim po = old[gi[0]], pn = shape[gj[0]];
    while (po != pn) {
      int64_t a = probe(po), b = probe(pn);
      if (a == b || a <= 0 || b <= 0) return std::nullopt;
      if (a < b) {
        while (i < old.size() && isOne(old[i])) ++i;
        if (i >= old.size()) return std::nullopt;
        gi.push_back(i);
        po = po * old[i++];
      } else {
        if (j >= shape.size()) return std::nullopt;
        gj.push_back(j);
        pn = pn * shape[j++];
      }
    }
    for (size_t k = 0; k + 1 < gi.size(); ++k)
      if (view.strides[gi[k]] != view.strides[gi[k + 1]] * old[gi[k + 1]]) return std::nullopt;
    ir::Dim s = view.strides[gi.back()];
    for (size_t k = gj.size(); k-- > 0;) {
      out.strides[gj[k]] = s;
      s = s * shape[gj[k]];
    }
  }
  return out;
}

}  // namespace tessera::codegen
