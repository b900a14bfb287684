// Element types of tensors. The interpreter computes in double and rounds to the element type
// after every op (see Tensor.h), so this file also owns the rounding rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tessera::ir {

enum class DType : uint8_t { F32, F64, BF16, F16, I32, I64, Bool };

inline constexpr DType kAllDTypes[] = {DType::F32, DType::F64, DType::BF16, DType::F16,
                                       DType::I32, DType::I64, DType::Bool};

const char* dtypeName(DType t);                            // "f32", ..., "bool"
std::optional<DType> parseDType(std::string_view name);    // inverse of dtypeName
int dtypeBytes(DType t);                                   // storage size of one element
bool isFloat(DType t);
bool isInteger(DType t);                                   // i32, i64 (not bool)

// Rounds a double to the nearest value representable in `t` (round-to-nearest-even for the
// float types, truncation toward zero with wrap-around for the integers, x != 0 for bool).
double roundToDType(double x, DType t);

// Bit-level conversions used by serialization and the .npy reader.
uint16_t floatToBf16Bits(float f);
float bf16BitsToFloat(uint16_t b);
uint16_t floatToHalfBits(float f);
float halfBitsToFloat(uint16_t h);

}  // namespace tessera::ir
