// Pieces shared by the protobuf writer and reader: the mapping between ir::DType and the
// schema's DType enum, and the little-endian encoding of tensor elements. Kept in one place so
// that the two directions cannot drift apart. Only files under ir/proto include this.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "ir/DType.h"
#include "tessera.pb.h"

namespace tessera::ir::protocodec {

inline proto::DType toProto(DType t) {
  switch (t) {
    case DType::F32: return proto::DTYPE_F32;
    case DType::F64: return proto::DTYPE_F64;
    case DType::BF16: return proto::DTYPE_BF16;
    case DType::F16: return proto::DTYPE_F16;
    case DType::I32: return proto::DTYPE_I32;
    case DType::I64: return proto::DTYPE_I64;
    case DType::Bool: return proto::DTYPE_BOOL;
  }
  return proto::DTYPE_F32;
}

// An int rather than proto::DType: proto3 enums are open, so a file may hold any number.
inline std::optional<DType> fromProto(int v) {
  switch (v) {
    case proto::DTYPE_F32: return DType::F32;
    case proto::DTYPE_F64: return DType::F64;
    case proto::DTYPE_BF16: return DType::BF16;
    case proto::DTYPE_F16: return DType::F16;
    case proto::DTYPE_I32: return DType::I32;
    case proto::DTYPE_I64: return DType::I64;
    case proto::DTYPE_BOOL: return DType::Bool;
    default: return std::nullopt;
  }
}

// The bit pattern of `v` (already rounded to `t`, as every Tensor element is) stored as `t`.
inline uint64_t encodeElement(double v, DType t) {
  switch (t) {
    case DType::F32: {
      float f = static_cast<float>(v);
      uint32_t u;
      std::memcpy(&u, &f, 4);
      return u;
    }
    case DType::F64: {
      uint64_t u;
      std::memcpy(&u, &v, 8);
      return u;
    }
    case DType::BF16: return floatToBf16Bits(static_cast<float>(v));
    case DType::F16: return floatToHalfBits(static_cast<float>(v));
    case DType::I32:
      // Range guards keep the casts defined even if an invariant was broken upstream.
      if (!(v >= -2147483648.0 && v <= 2147483647.0)) return 0;
      return static_cast<uint32_t>(static_cast<int32_t>(v));
    case DType::I64:
      if (!(v > -9.3e18 && v < 9.3e18)) return 0;
      return static_cast<uint64_t>(static_cast<int64_t>(v));
    case DType::Bool: return v != 0 ? 1 : 0;
  }
  return 0;
}

inline double decodeElement(uint64_t bits, DType t) {
  switch (t) {
    case DType::F32: {
      uint32_t u = static_cast<uint32_t>(bits);
      float f;
      std::memcpy(&f, &u, 4);
      return f;
    }
    case DType::F64: {
      double d;
      std::memcpy(&d, &bits, 8);
      return d;
    }
    case DType::BF16: return bf16BitsToFloat(static_cast<uint16_t>(bits));
    case DType::F16: return halfBitsToFloat(static_cast<uint16_t>(bits));
    case DType::I32: return static_cast<int32_t>(static_cast<uint32_t>(bits));
    case DType::I64: return static_cast<double>(static_cast<int64_t>(bits));
    case DType::Bool: return bits != 0 ? 1.0 : 0.0;
  }
  return 0;
}

inline void appendLittleEndian(std::string& out, uint64_t bits, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
}

inline uint64_t readLittleEndian(const char* p, int bytes) {
  uint64_t bits = 0;
  for (int i = 0; i < bytes; ++i)
    bits |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return bits;
}

}  // namespace tessera::ir::protocodec
