// Dense tensor literals: `dense<f32[2,3], [1, 2, 3, 4, 5, 6]>` for small tensors and
// `dense<f32[64,64], 0x...>` (the little-endian bytes of each element in the element type) for
// larger ones, so that weights round-trip bit-exactly and stay compact.
#pragma once

#include <string>

#include "ir/Tensor.h"
#include "ir/text/TextReader.h"

namespace tessera::ir::text {

// Tensors with more elements than this are printed in the hex form.
inline constexpr int64_t kMaxListedElements = 16;

std::string printDense(const Tensor& t);
// Shortest decimal text that reads back as exactly `v` (after rounding to `dt`): "0.1", "inf",
// "nan", "-3". Used for tensor elements and Float attributes (dt = f64).
std::string printScalar(double v, DType dt);

// Parses `dense<...>` starting at the word `dense`. Checks the claimed size against the input
// before allocating anything.
StatusOr<Tensor> parseDense(Reader& r);

}  // namespace tessera::ir::text
