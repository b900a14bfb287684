// Printing of tensor types.
#include "ir/Type.h"

namespace tessera::ir {

Dim TensorType::numElements() const {
  Dim n = 1;
  for (const Dim& d : shape) n = n * d;
  return n;
}

std::string shapeStr(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ",";
    out += s[i].str();
  }
  return out + "]";
}

std::string TensorType::str() const { return std::string(dtypeName(dtype)) + shapeStr(shape); }

}  // namespace tessera::ir
