// Index arithmetic shared by the op semantics: row-major strides, multi-index iteration, and the
// operand offset of a result element under numpy broadcasting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tessera::ir {

std::vector<int64_t> rowMajorStrides(const std::vector<int64_t>& shape);
// Strides to read an operand of `operandShape` at the indices of `resultShape` under numpy
// broadcasting (0 where the operand dim is 1 or missing).
std::vector<int64_t> broadcastStrides(const std::vector<int64_t>& operandShape,
                                      const std::vector<int64_t>& resultShape);

// Walks every multi-index of a shape in row-major order.
class IndexIterator {
 public:
  explicit IndexIterator(std::vector<int64_t> shape);
  bool done() const { return done_; }
  const std::vector<int64_t>& index() const { return index_; }
  void next();

 private:
  std::vector<int64_t> shape_;
  std::vector<int64_t> index_;
  bool done_;
};

inline int64_t dotIndex(const std::vector<int64_t>& index, const std::vector<int64_t>& strides) {
  int64_t off = 0;
  for (size_t i = 0; i < index.size(); ++i) off += index[i] * strides[i];
  return off;
}

}  // namespace tessera::ir
