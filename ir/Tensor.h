// A concrete tensor: element type, concrete shape and values, row-major.
//
// Values are held as doubles whatever the element type, and every producer rounds them to the
// element type (roundToDType), so an f32 tensor holds exactly the f32 values. This keeps the
// reference interpreter one straightforward code path for every dtype; integers are exact up to
// 2^53, far beyond any index or count Tessera handles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/DType.h"

namespace tessera::ir {

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, std::vector<int64_t> shape);  // zero-filled
  Tensor(DType dtype, std::vector<int64_t> shape, std::vector<double> values);  // rounds values
  static Tensor scalar(DType dtype, double v) { return Tensor(dtype, {}, {v}); }

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numElements() const { return static_cast<int64_t>(data_.size()); }
  std::vector<int64_t> strides() const;  // row-major, in elements

  const std::vector<double>& data() const { return data_; }
  double operator[](int64_t i) const { return data_[i]; }
  // Stores v rounded to the element type.
  void set(int64_t i, double v) { data_[i] = roundToDType(v, dtype_); }

  std::string shapeStr() const;  // "[2,3]"
  bool operator==(const Tensor&) const = default;  // exact: same dtype, shape and bits of value

 private:
  DType dtype_ = DType::F32;
  std::vector<int64_t> shape_;
  std::vector<double> data_;
};

int64_t numElementsOf(const std::vector<int64_t>& shape);
// "[2,3]": a concrete shape or any integer list, for messages.
std::string intListStr(const std::vector<int64_t>& v);

}  // namespace tessera::ir
