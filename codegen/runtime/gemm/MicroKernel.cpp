// The 6 x 16 AVX2 + FMA micro-kernel (see MicroKernel.h).
#include "codegen/runtime/gemm/MicroKernel.h"

#include <immintrin.h>

#include <cassert>

#include "codegen/runtime/gemm/Blocking.h"

namespace tessera::codegen::gemm {

bool hasAvx2Fma() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
}

namespace {

// Where a[k][i] is: a packed micro-panel (a[k * MR + i]) or op(A) in place (a[i * rs + k * ks]).
struct PackedA {
  static constexpr bool kPacked = true;
};
struct StridedA {
  static constexpr bool kPacked = false;
};

// Full tile: the accumulators go straight to C. Edge tile: to a local 6 x 16 tile, then the valid
// part to C (the same float addition per element as the full tile's vector add). Both forms of A
// run the same multiply-adds in the same order; only the addresses differ.
template <typename ALayout>
__attribute__((target("avx2,fma"))) void kernel6x16(int64_t kc, const float* __restrict a,
                                                   int64_t rs, int64_t ks,
                                                   const float* __restrict b, float* c,
                                                   int64_t ldc, int64_t rows, int64_t cols,
                                                   bool accumulate) {
  if constexpr (ALayout::kPacked) rs = 1, ks = kMR;
  const float* a0 = a;
  const float* a1 = a + rs;
  const float* a2 = a + 2 * rs;
  const float* a3 = a + 3 * rs;
  const float* a4 = a + 4 * rs;
  const float* a5 = a + 5 * rs;
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  bool full = rows == kMR && cols == kNR;
  if (full) {
    // C's rows are needed at the end; start fetching them now (the tile is 6 rows x 64 bytes,
    // possibly straddling two lines each).
    for (int i = 0; i < 6; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 15), _MM_HINT_T0);
    }
  }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    int64_t o = k * ks;
    __m256 av = _mm256_broadcast_ss(a0 + o);
    c00 = _mm256_fmadd_ps(av, b0, c00);
    c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a1 + o);
    c10 = _mm256_fmadd_ps(av, b0, c10);
    c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a2 + o);
    c20 = _mm256_fmadd_ps(av, b0, c20);
    c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a3 + o);
    c30 = _mm256_fmadd_ps(av, b0, c30);
    c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a4 + o);
    c40 = _mm256_fmadd_ps(av, b0, c40);
    c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a5 + o);
    c50 = _mm256_fmadd_ps(av, b0, c50);
    c51 = _mm256_fmadd_ps(av, b1, c51);
    b += kNR;
  }
  __m256 acc[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (full) {
    for (int i = 0; i < 6; ++i) {
      float* row = c + i * ldc;
      if (accumulate) {
        acc[i][0] = _mm256_add_ps(_mm256_loadu_ps(row), acc[i][0]);
        acc[i][1] = _mm256_add_ps(_mm256_loadu_ps(row + 8), acc[i][1]);
      }
      _mm256_storeu_ps(row, acc[i][0]);
      _mm256_storeu_ps(row + 8, acc[i][1]);
    }
    return;
  }
  alignas(32) float tile[6][16];
  for (int i = 0; i < 6; ++i) {
    _mm256_store_ps(tile[i], acc[i][0]);
    _mm256_store_ps(tile[i] + 8, acc[i][1]);
  }
  for (int64_t i = 0; i < rows; ++i) {
    float* row = c + i * ldc;
    for (int64_t j = 0; j < cols; ++j) row[j] = accumulate ? row[j] + tile[i][j] : tile[i][j];
  }
}

}  // namespace

void microKernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t rows,
                 int64_t cols, bool accumulate) {
  assert(rows >= 1 && rows <= kMR && cols >= 1 && cols <= kNR);
  kernel6x16<PackedA>(kc, a, 1, kMR, b, c, ldc, rows, cols, accumulate);
}

void microKernelStridedA(int64_t kc, const float* a, int64_t rs, int64_t ks, const float* b,
                         float* c, int64_t ldc, int64_t cols, bool accumulate) {
  assert(cols >= 1 && cols <= kNR);
  kernel6x16<StridedA>(kc, a, rs, ks, b, c, ldc, kMR, cols, accumulate);
}

}  // namespace tessera::codegen::gemm
