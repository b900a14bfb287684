// Packing routines (see Packing.h). The gathers that transpose (A without transA, B with transB)
// go through 8 x 8 register transposes when AVX2 is present: a scalar gather costs about a cycle
// an element, which on the attention GEMMs (k = 64) is a tenth of the multiply time. Edges
// (fewer than 8 rows or depth left) take the scalar path; both produce the same bytes.
#include "codegen/runtime/gemm/Packing.h"

#include <immintrin.h>

#include <algorithm>

#include "codegen/runtime/gemm/Blocking.h"
#include "codegen/runtime/gemm/MicroKernel.h"

namespace tessera::codegen::gemm {

namespace {

// Prefetching never faults, so the address may lie past the matrix.
inline void prefetch(const float* p) {
  _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0);
}

// r[i] = row i of an 8 x 8 block in, column i out.
__attribute__((target("avx2,fma"))) inline void transpose8(__m256 r[8]) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// The scalar gathers, from depth `from` on (the AVX2 versions' tails, and the whole panel on
// CPUs without AVX2).
void panelAGatherScalar(const float* a, int64_t lda, int64_t rows, int64_t from, int64_t kc,
                        float* dst) {
  for (int64_t k = from; k < kc; ++k)
    for (int64_t i = 0; i < kMR; ++i) dst[k * kMR + i] = i < rows ? a[i * lda + k] : 0.0f;
}

void panelBGatherScalar(const float* b, int64_t ldb, int64_t cols, int64_t from, int64_t kc,
                        float* dst) {
  for (int64_t k = from; k < kc; ++k)
    for (int64_t j = 0; j < kNR; ++j) dst[k * kNR + j] = j < cols ? b[j * ldb + k] : 0.0f;
}

// A micro-panel from row-major A (no transpose): rows of A are k-contiguous, the panel wants
// the 6 rows side by side per k.
__attribute__((target("avx2,fma"))) void panelAGatherAvx2(const float* a, int64_t lda,
                                                         int64_t rows, int64_t kc, float* dst) {
  int64_t k = 0;
  if (rows == kMR) {
    for (; k + 8 <= kc; k += 8) {
      __m256 r[8];
      // The next panel's rows at this depth: a panel reads 6 short streams (kc floats each),
      // too short for the hardware prefetcher to lock on before they end.
      for (int i = 0; i < 6; ++i) prefetch(a + (i + kMR) * lda + k);
      for (int i = 0; i < 6; ++i) r[i] = _mm256_loadu_ps(a + i * lda + k);
      r[6] = r[7] = _mm256_setzero_ps();
      transpose8(r);
      // Eight floats per k where six belong: each store's last two land on the next k's first
      // two, which the next store (or the tail, or the next panel) overwrites; the last spills
      // into the buffer's slack (kPackSlack). A masked store would avoid that, but
      // vmaskmovps stores are microcoded on AMD and cost more than the whole transpose.
      for (int q = 0; q < 8; ++q) _mm256_storeu_ps(dst + (k + q) * kMR, r[q]);
    }
  }
  panelAGatherScalar(a, lda, rows, k, kc, dst);
}

// B micro-panel from B stored n x k (transB): 16 rows of B, each k-contiguous.
__attribute__((target("avx2,fma"))) void panelBGatherAvx2(const float* b, int64_t ldb,
                                                         int64_t cols, int64_t kc, float* dst) {
  int64_t k = 0;
  if (cols == kNR) {
    for (; k + 8 <= kc; k += 8)
      for (int h = 0; h < 2; ++h) {
        __m256 r[8];
        for (int j = 0; j < 8; ++j) prefetch(b + (kNR + h * 8 + j) * ldb + k);  // next panel
        for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(b + (h * 8 + j) * ldb + k);
        transpose8(r);
        for (int q = 0; q < 8; ++q) _mm256_store_ps(dst + (k + q) * kNR + h * 8, r[q]);
      }
  }
  panelBGatherScalar(b, ldb, cols, k, kc, dst);
}

// Panels [p0, p1) of a block whose source rows are already the panels' rows (A stored k x m, or
// B stored k x n): `full` floats per k and panel, of which the first `cols - p * full` are
// valid (zero past them). Walked in chunks of 16 k-rows across all the panels: a chunk reads 16
// rows sequentially (every line used while it is in L1, few pages at a time) and writes 16 rows
// of each panel contiguously. Panel by panel instead, every k of every panel touched a new page
// and a new line (A^T's and B's rows are 3-12 KiB apart on the step's shapes).
template <int64_t full>
__attribute__((target("avx2,fma"))) void copyPanelsAvx2(const float* src, int64_t ld,
                                                       int64_t cols, int64_t kc, int64_t p0,
                                                       int64_t p1, float* dst) {
  constexpr int64_t kChunk = 16;
  for (int64_t k0 = 0; k0 < kc; k0 += kChunk) {
    int64_t k1 = std::min(kc, k0 + kChunk);
    for (int64_t p = p0; p < p1; ++p) {
      int64_t w = std::min(full, cols - p * full);
      const float* s = src + p * full;
      float* d = dst + p * kc * full;
      if (w == full && full == 16) {
        for (int64_t k = k0; k < k1; ++k) {
          _mm256_store_ps(d + k * 16, _mm256_loadu_ps(s + k * ld));
          _mm256_store_ps(d + k * 16 + 8, _mm256_loadu_ps(s + k * ld + 8));
        }
      } else if (w == full && full == 6) {
        // A^T's panels (the dW GEMMs): 4 + 2 floats per k with two vector moves each, not six
        // scalar ones (an 8-float move would read past the matrix's last row and overwrite
        // the next panel's first k, packed in an earlier chunk).
        for (int64_t k = k0; k < k1; ++k) {
          _mm_storeu_ps(d + k * 6, _mm_loadu_ps(s + k * ld));
          _mm_storel_pi(reinterpret_cast<__m64*>(d + k * 6 + 4),
                        _mm_loadl_pi(_mm_setzero_ps(),
                                     reinterpret_cast<const __m64*>(s + k * ld + 4)));
        }
      } else if (w == full) {
        for (int64_t k = k0; k < k1; ++k)
          for (int64_t i = 0; i < full; ++i) d[k * full + i] = s[k * ld + i];
      } else {
        for (int64_t k = k0; k < k1; ++k)
          for (int64_t i = 0; i < full; ++i) d[k * full + i] = i < w ? s[k * ld + i] : 0.0f;
      }
    }
  }
}

template <int64_t full>
void copyPanelsScalar(const float* src, int64_t ld, int64_t cols, int64_t kc, int64_t p0,
                      int64_t p1, float* dst) {
  for (int64_t p = p0; p < p1; ++p) {
    int64_t w = std::min(full, cols - p * full);
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t i = 0; i < full; ++i)
        dst[p * kc * full + k * full + i] = i < w ? src[p * full + k * ld + i] : 0.0f;
  }
}

}  // namespace

void packA(bool transA, const float* a, int64_t lda, int64_t i0, int64_t rows, int64_t k0,
           int64_t kc, float* dst) {
  bool avx2 = hasAvx2Fma();
  int64_t panels = ceilDiv(rows, kMR);
  if (transA) {
    const float* src = a + k0 * lda + i0;
    if (avx2) copyPanelsAvx2<kMR>(src, lda, rows, kc, 0, panels, dst);
    else copyPanelsScalar<kMR>(src, lda, rows, kc, 0, panels, dst);
    return;
  }
  for (int64_t p = 0; p < panels; ++p) {
    int64_t r = std::min(kMR, rows - p * kMR), i = i0 + p * kMR;
    float* out = dst + p * kc * kMR;
    if (avx2) panelAGatherAvx2(a + i * lda + k0, lda, r, kc, out);
    else panelAGatherScalar(a + i * lda + k0, lda, r, 0, kc, out);
  }
}

void packB(bool transB, const float* b, int64_t ldb, int64_t k0, int64_t kc, int64_t j0,
           int64_t cols, int64_t p0, int64_t p1, float* dst) {
  bool avx2 = hasAvx2Fma();
  if (!transB) {
    const float* src = b + k0 * ldb + j0;
    if (avx2) copyPanelsAvx2<kNR>(src, ldb, cols, kc, p0, p1, dst);
    else copyPanelsScalar<kNR>(src, ldb, cols, kc, p0, p1, dst);
    return;
  }
  for (int64_t p = p0; p < p1; ++p) {
    int64_t w = std::min(kNR, cols - p * kNR), j = j0 + p * kNR;
    float* out = dst + p * kc * kNR;
    if (avx2) panelBGatherAvx2(b + j * ldb + k0, ldb, w, kc, out);
    else panelBGatherScalar(b + j * ldb + k0, ldb, w, 0, kc, out);
  }
}

}  // namespace tessera::codegen::gemm
