// Conversions between ir::Tensor (values held as doubles) and the runtime's packed buffers
// (row-major, the dtype's storage size).
#pragma once

#include <vector>

#include "ir/Tensor.h"

namespace tessera::codegen {

void tensorToBuffer(const ir::Tensor& t, void* dst);
ir::Tensor bufferToTensor(const void* src, ir::DType t, const std::vector<int64_t>& shape);
double loadElement(const void* base, ir::DType t, int64_t i);
// Stores v rounded to t (as the interpreter rounds) at element i.
void storeElement(void* base, ir::DType t, int64_t i, double v);

}  // namespace tessera::codegen
