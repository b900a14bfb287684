// Element types and reduction operators of collective buffers.
//
// Collectives move contiguous buffers of one element type; the type decides both the byte count and
// how a reduction combines elements. Kept as a closed enum (not a template parameter) so that
// backends map it to MPI_Datatype / ncclDataType_t in one switch and the Communicator interface
// stays virtual.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tessera::comm {

enum class DataType { F32, F64, I32, I64 };
enum class ReduceOp { Sum, Max };

inline size_t sizeOf(DataType t) {
  switch (t) {
    case DataType::F32: return 4;
    case DataType::F64: return 8;
    case DataType::I32: return 4;
    case DataType::I64: return 8;
  }
  return 0;
}

inline const char* name(DataType t) {
  switch (t) {
    case DataType::F32: return "f32";
    case DataType::F64: return "f64";
    case DataType::I32: return "i32";
    case DataType::I64: return "i64";
  }
  return "?";
}

inline const char* name(ReduceOp op) { return op == ReduceOp::Sum ? "sum" : "max"; }

// The DataType of a C++ element type, for typed convenience calls and tests.
template <typename T> constexpr DataType dataTypeOf();
template <> constexpr DataType dataTypeOf<float>() { return DataType::F32; }
template <> constexpr DataType dataTypeOf<double>() { return DataType::F64; }
template <> constexpr DataType dataTypeOf<int32_t>() { return DataType::I32; }
template <> constexpr DataType dataTypeOf<int64_t>() { return DataType::I64; }

}  // namespace tessera::comm
