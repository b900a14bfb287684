// The counter-based random numbers of the `random` op, exposed so that compiled kernels (and
// their tests) can reproduce the reference bit for bit. The exact algorithm is specified in
// RandomEval.cpp; in short, element i of a random tensor is a pure function of (seed, i), where
// i is the element's row-major index in the *global* tensor, so a shard that knows its offset
// draws exactly the numbers of the whole.
#pragma once

#include <array>
#include <cstdint>

#include "ir/DType.h"

namespace tessera::ir {

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
// generator of Random123, cuRAND and JAX.
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter,
                                      std::array<uint32_t, 2> key);

// Element i of `random dist=uniform a b` with element type t (a float type), already rounded to t.
double randomUniformElement(uint64_t seed, uint64_t i, DType t, double a, double b);
// Element i of `random dist=normal` with mean a and standard deviation b, rounded to t.
double randomNormalElement(uint64_t seed, uint64_t i, DType t, double mean, double stddev);

}  // namespace tessera::ir
