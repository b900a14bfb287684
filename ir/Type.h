// The type of an IR value: an element type and a shape of symbolic dimensions.
#pragma once

#include <string>
#include <vector>

#include "ir/DType.h"
#include "ir/Dim.h"

namespace tessera::ir {

using Shape = std::vector<Dim>;

struct TensorType {
  DType dtype = DType::F32;
  Shape shape;

  int rank() const { return static_cast<int>(shape.size()); }
  Dim numElements() const;
  std::string str() const;  // "f32[B,1024]", "f32[]" for a scalar
  bool operator==(const TensorType&) const = default;
};

std::string shapeStr(const Shape& s);  // "[B,1024]"

}  // namespace tessera::ir
