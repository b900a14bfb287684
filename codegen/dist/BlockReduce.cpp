// The group-order reduction of received blocks (see BlockReduce.h).
#include "codegen/dist/BlockReduce.h"

#include <algorithm>
#include <cstdint>

#include "codegen/runtime/TensorIO.h"

namespace tessera::codegen {

namespace {

double combine(double a, double b, ir::ReduceOp op) {
  switch (op) {
    case ir::ReduceOp::Sum: return a + b;
    case ir::ReduceOp::Max: return std::max(a, b);
    case ir::ReduceOp::Min: return std::min(a, b);
  }
  return a;
}

// The fast paths: f32 and f64 accumulate in double over tiles (one rounding per element).
template <typename T>
void reduceFloat(const char* base, int64_t stride, int n, int64_t count, ir::ReduceOp op, T* dst) {
  if (n == 2 && op == ir::ReduceOp::Sum) {
    // Two addends (every dp=2 gradient): the sum in T is bitwise the double sum rounded once.
    // For f32: when the exponents differ by at most 29 the exact sum fits a double's 53 bits, so
    // both round the exact sum once; otherwise the smaller addend is below 1/16 of an f32 ulp of
    // the larger and both give the larger (double rounding cannot reach an f32 midpoint).
    // Overflow rounds to inf either way. Addition commutes, so the order is kept trivially.
    const T* a = reinterpret_cast<const T*>(base);
    const T* b = reinterpret_cast<const T*>(base + stride);
    for (int64_t i = 0; i < count; ++i) dst[i] = a[i] + b[i];
    return;
  }
  constexpr int64_t kTile = 512;
  double acc[kTile];
  for (int64_t i0 = 0; i0 < count; i0 += kTile) {
    int64_t m = std::min(kTile, count - i0);
    const T* s0 = reinterpret_cast<const T*>(base) + i0;
    for (int64_t i = 0; i < m; ++i) acc[i] = s0[i];
    for (int p = 1; p < n; ++p) {
      const T* s = reinterpret_cast<const T*>(base + p * stride) + i0;
      switch (op) {
        case ir::ReduceOp::Sum:
          for (int64_t i = 0; i < m; ++i) acc[i] += s[i];
          break;
        case ir::ReduceOp::Max:
          for (int64_t i = 0; i < m; ++i) acc[i] = std::max(acc[i], static_cast<double>(s[i]));
          break;
        case ir::ReduceOp::Min:
          for (int64_t i = 0; i < m; ++i) acc[i] = std::min(acc[i], static_cast<double>(s[i]));
          break;
      }
    }
    for (int64_t i = 0; i < m; ++i) dst[i0 + i] = static_cast<T>(acc[i]);
  }
}

}  // namespace

void reduceBlocks(const void* base, int64_t strideBytes, int n, int64_t count, ir::DType t,
                  ir::ReduceOp op, void* dst) {
  const char* b = static_cast<const char*>(base);
  switch (t) {
    case ir::DType::F32:
      reduceFloat<float>(b, strideBytes, n, count, op, static_cast<float*>(dst));
      return;
    case ir::DType::F64:
      reduceFloat<double>(b, strideBytes, n, count, op, static_cast<double*>(dst));
      return;
    case ir::DType::I64: {
      // Exact (wrapping) integer arithmetic: doubles would lose bits past 2^53.
      for (int64_t i = 0; i < count; ++i) {
        int64_t acc = reinterpret_cast<const int64_t*>(b)[i];
        for (int p = 1; p < n; ++p) {
          int64_t v = reinterpret_cast<const int64_t*>(b + p * strideBytes)[i];
          acc = op == ir::ReduceOp::Sum ? static_cast<int64_t>(static_cast<uint64_t>(acc) +
                                                               static_cast<uint64_t>(v))
                : op == ir::ReduceOp::Max ? std::max(acc, v)
                                          : std::min(acc, v);
        }
        static_cast<int64_t*>(dst)[i] = acc;
      }
      return;
    }
    default:
      for (int64_t i = 0; i < count; ++i) {
        double acc = loadElement(b, t, i);
        for (int p = 1; p < n; ++p) acc = combine(acc, loadElement(b + p * strideBytes, t, i), op);
        storeElement(dst, t, i, acc);
      }
      return;
  }
}

}  // namespace tessera::codegen
