// Packed buffer <-> ir::Tensor (see TensorIO.h).
#include "codegen/runtime/TensorIO.h"

#include <cstdint>
#include <cstring>

namespace tessera::codegen {

double loadElement(const void* base, ir::DType t, int64_t i) {
  switch (t) {
    case ir::DType::F32: return static_cast<const float*>(base)[i];
    case ir::DType::F64: return static_cast<const double*>(base)[i];
    case ir::DType::I32: return static_cast<const int32_t*>(base)[i];
    case ir::DType::I64: return static_cast<double>(static_cast<const int64_t*>(base)[i]);
    case ir::DType::Bool: return static_cast<const uint8_t*>(base)[i] ? 1.0 : 0.0;
    case ir::DType::BF16: return ir::bf16BitsToFloat(static_cast<const uint16_t*>(base)[i]);
    case ir::DType::F16: return ir::halfBitsToFloat(static_cast<const uint16_t*>(base)[i]);
  }
  return 0;
}

void storeElement(void* base, ir::DType t, int64_t i, double v) {
  v = ir::roundToDType(v, t);
  switch (t) {
    case ir::DType::F32: static_cast<float*>(base)[i] = static_cast<float>(v); break;
    case ir::DType::F64: static_cast<double*>(base)[i] = v; break;
    case ir::DType::I32: static_cast<int32_t*>(base)[i] = static_cast<int32_t>(v); break;
    case ir::DType::I64: static_cast<int64_t*>(base)[i] = static_cast<int64_t>(v); break;
    case ir::DType::Bool: static_cast<uint8_t*>(base)[i] = v != 0; break;
    case ir::DType::BF16:
      static_cast<uint16_t*>(base)[i] = ir::floatToBf16Bits(static_cast<float>(v));
      break;
    case ir::DType::F16:
      static_cast<uint16_t*>(base)[i] = ir::floatToHalfBits(static_cast<float>(v));
      break;
  }
}

void tensorToBuffer(const ir::Tensor& t, void* dst) {
  const std::vector<double>& d = t.data();
  int64_t n = t.numElements();
  switch (t.dtype()) {
    case ir::DType::F32:
      for (int64_t i = 0; i < n; ++i) static_cast<float*>(dst)[i] = static_cast<float>(d[i]);
      break;
    case ir::DType::F64: std::memcpy(dst, d.data(), n * sizeof(double)); break;
    case ir::DType::I32:
      for (int64_t i = 0; i < n; ++i) static_cast<int32_t*>(dst)[i] = static_cast<int32_t>(d[i]);
      break;
    case ir::DType::I64:
      for (int64_t i = 0; i < n; ++i) static_cast<int64_t*>(dst)[i] = static_cast<int64_t>(d[i]);
      break;
    case ir::DType::Bool:
      for (int64_t i = 0; i < n; ++i) static_cast<uint8_t*>(dst)[i] = d[i] != 0;
      break;
    case ir::DType::BF16:
      for (int64_t i = 0; i < n; ++i)
        static_cast<uint16_t*>(dst)[i] = ir::floatToBf16Bits(static_cast<float>(d[i]));
      break;
    case ir::DType::F16:
      for (int64_t i = 0; i < n; ++i)
        static_cast<uint16_t*>(dst)[i] = ir::floatToHalfBits(static_cast<float>(d[i]));
      break;
  }
}

ir::Tensor bufferToTensor(const void* src, ir::DType t, const std::vector<int64_t>& shape) {
  int64_t n = ir::numElementsOf(shape);
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = loadElement(src, t, i);
  return ir::Tensor(t, shape, std::move(v));
}

}  // namespace tessera::codegen
