// Concrete tensors.
#include "ir/Tensor.h"

#include <cassert>

namespace tessera::ir {

int64_t numElementsOf(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)), data_(numElementsOf(shape_), 0.0) {}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape, std::vector<double> values)
    : dtype_(dtype), shape_(std::move(shape)), data_(std::move(values)) {
  assert(static_cast<int64_t>(data_.size()) == numElementsOf(shape_));
  for (double& v : data_) v = roundToDType(v, dtype_);
}

std::vector<int64_t> Tensor::strides() const {
  std::vector<int64_t> s(shape_.size(), 1);
  for (int i = static_cast<int>(shape_.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * shape_[i + 1];
  return s;
}

std::string intListStr(const std::vector<int64_t>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out + "]";
}

std::string Tensor::shapeStr() const { return intListStr(shape_); }

}  // namespace tessera::ir
