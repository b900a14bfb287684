// Packing for Tessera's sgemm: copies a block of op(A) or op(B) into the micro-kernel's layout
// (MicroKernel.h), so the kernel reads both operands sequentially whatever the transposes were.
// The transposes live here only: the three forms of the training step (NN forward, NT dX, TN dW)
// differ in which of these routines does a strided gather and which a contiguous copy.
//
// All matrices are row-major with leading dimensions as cblas takes them: op(A) is m x k (A is
// m x k, or k x m when transA), op(B) is k x n (B is k x n, or n x k when transB).
#pragma once

#include <cstdint>

namespace tessera::codegen::gemm {

// Floats a packing buffer needs past its last panel (packA may write that far).
inline constexpr int64_t kPackSlack = 8;

// Rows [i0, i0 + rows) and depth [k0, k0 + kc) of op(A) as ceil(rows / MR) micro-panels of
// kc x MR floats each (dst[p * kc * MR + k * MR + i]); rows past the end are zero. May write
// kPackSlack floats past the last panel.
void packA(bool transA, const float* a, int64_t lda, int64_t i0, int64_t rows, int64_t k0,
           int64_t kc, float* dst);

// Depth [k0, k0 + kc) and columns [j0, j0 + cols) of op(B) as ceil(cols / NR) micro-panels of
// kc x NR floats each (dst[p * kc * NR + k * NR + j]); columns past the end are zero. Packs the
// micro-panels [p0, p1) only (the threads share one packed block, each packing a part of it).
// dst must be 32-byte aligned.
void packB(bool transB, const float* b, int64_t ldb, int64_t k0, int64_t kc, int64_t j0,
           int64_t cols, int64_t p0, int64_t p1, float* dst);

}  // namespace tessera::codegen::gemm
