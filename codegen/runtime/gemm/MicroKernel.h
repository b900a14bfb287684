// The sgemm micro-kernel: one MR x NR (6 x 16) tile of C from packed A and B micro-panels, written
// with AVX2 + FMA intrinsics in functions compiled for that target only (the rest of the build
// stays generic). Callers check hasAvx2Fma() first (cpuid, once) and use OpenBLAS otherwise.
//
// Packed layouts (codegen/runtime/gemm/Packing.h): A micro-panel a[k * MR + i], B micro-panel
// b[k * NR + j], both zero-padded to full MR / NR; b 32-byte aligned.
#pragma once

#include <cstdint>

namespace tessera::codegen::gemm {

// Whether this CPU (and OS) runs AVX2 and FMA instructions.
bool hasAvx2Fma();

// C[0..rows) x [0..cols) (row stride ldc) = acc, or C + acc when `accumulate`, where acc is the
// sum over k < kc of a[k][i] * b[k][j] with one fused multiply-add per k in k order. Any rows <=
// MR and cols <= NR; the result of an element does not depend on rows or cols (a full tile and an
// edge tile compute it the same way).
void microKernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t rows,
                 int64_t cols, bool accumulate);

// The same for a full MR rows of op(A) read in place: a[k][i] = a[i * rs + k * ks] (rs = lda,
// ks = 1 for A as stored; rs = 1, ks = lda for Aᵀ). The same multiply-adds in the same order as
// microKernel on the packed panel, so the result is bitwise the same.
void microKernelStridedA(int64_t kc, const float* a, int64_t rs, int64_t ks, const float* b,
                         float* c, int64_t ldc, int64_t cols, bool accumulate);

}  // namespace tessera::codegen::gemm
