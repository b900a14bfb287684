// Index arithmetic shared by the op semantics.
#include "ir/interp/EvalUtil.h"

namespace tessera::ir {

std::vector<int64_t> rowMajorStrides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

std::vector<int64_t> broadcastStrides(const std::vector<int64_t>& operandShape,
                                      const std::vector<int64_t>& resultShape) {
  std::vector<int64_t> own = rowMajorStrides(operandShape);
  std::vector<int64_t> out(resultShape.size(), 0);
  size_t shift = resultShape.size() - operandShape.size();
  for (size_t i = 0; i < operandShape.size(); ++i)
    out[i + shift] = operandShape[i] == 1 ? 0 : own[i];
  return out;
}

IndexIterator::IndexIterator(std::vector<int64_t> shape)
    : shape_(std::move(shape)), index_(shape_.size(), 0), done_(false) {
  for (int64_t d : shape_)
    if (d == 0) done_ = true;
}

void IndexIterator::next() {
  for (int i = static_cast<int>(shape_.size()) - 1; i >= 0; --i) {
    if (++index_[i] < shape_[i]) return;
    index_[i] = 0;
  }
  done_ = true;
}

}  // namespace tessera::ir
