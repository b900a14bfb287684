// The sgemm driver: blocking loops, the shared packed B, the split over threads (see Sgemm.h).
#include "codegen/runtime/gemm/Sgemm.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>

#include "codegen/runtime/gemm/Blocking.h"
#include "codegen/runtime/gemm/MicroKernel.h"
#include "codegen/runtime/gemm/Packing.h"

namespace tessera::codegen::gemm {

namespace {

// A growable 64-byte-aligned buffer, one per thread and role: packing buffers are reused across
// calls (a fresh multi-MiB allocation per GEMM would page-fault through it every time).
class Workspace {
 public:
  ~Workspace() { std::free(data_); }
  float* get(int64_t floats) {
    size_t bytes = (static_cast<size_t>(floats) * sizeof(float) + 63) / 64 * 64;
    if (bytes > capacity_) {
      std::free(data_);
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      assert(data_ && "sgemm workspace allocation failed");
      capacity_ = bytes;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

thread_local Workspace tlsPackedA;  // each thread's MC x KC block of A
thread_local Workspace tlsPackedB;  // the calling thread's KC x NC block of B, read by all

// How the threads share one KC x NC block of C's update.
enum class Split { Rows, Cols };

}  // namespace

void sgemm(const SgemmArgs& g, ThreadPool* pool) {
  assert(hasAvx2Fma());
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k == 0) {
    for (int64_t i = 0; i < g.m; ++i)
      std::memset(g.c + i * g.ldc, 0, static_cast<size_t>(g.n) * sizeof(float));
    return;
  }
  int threads = pool ? pool->size() : 1;
  int64_t kcMax = kcFor(g.k);
  int64_t panelsM = ceilDiv(g.m, kMR);
  for (int64_t jc = 0; jc < g.n; jc += kNC) {
    int64_t nc = std::min(kNC, g.n - jc), panelsN = ceilDiv(nc, kNR);
    float* packedB = tlsPackedB.get(panelsN * kNR * kcMax);
    // Rows when each thread gets several micro-panels of rows (packing A once overall); columns
    // when the rows are few (each thread then packs all of A, which is small).
    int parts = threads;
    Split split = Split::Rows;
    if (panelsM < 4 * threads) {
      if (panelsN >= 2 * threads) split = Split::Cols;
      else parts = 1;
    }
    for (int64_t k0 = 0; k0 < g.k; k0 += kcMax) {
      int64_t kc = std::min(kcMax, g.k - k0);
      bool accumulate = k0 > 0;
      auto packPart = [&](int64_t p0, int64_t p1) {
        packB(g.transB, g.b, g.ldb, k0, kc, jc, nc, p0, p1, packedB);
      };
      if (parts > 1) pool->parallelFor(panelsN, packPart);
      else packPart(0, panelsN);
      // Rows [r0, r1) (multiples of MR, or m) by B micro-panels [q0, q1) of this block.
      auto block = [&](int64_t r0, int64_t r1, int64_t q0, int64_t q1) {
        float* packedA = tlsPackedA.get(kMC * kcMax + kPackSlack);
        for (int64_t ic = r0; ic < r1; ic += kMC) {
          int64_t mc = std::min(kMC, r1 - ic);
          packA(g.transA, g.a, g.lda, ic, mc, k0, kc, packedA);
          for (int64_t q = q0; q < q1; ++q) {
            int64_t cols = std::min(kNR, nc - q * kNR);
            const float* bp = packedB + q * kc * kNR;
            float* cq = g.c + jc + q * kNR;
            for (int64_t ir = 0; ir < mc; ir += kMR)
              microKernel(kc, packedA + ir * kc, bp, cq + (ic + ir) * g.ldc, g.ldc,
                          std::min(kMR, mc - ir), cols, accumulate);
          }
        }
      };
      if (parts == 1) {
        block(0, g.m, 0, panelsN);
        continue;
      }
      pool->parallelFor(parts, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          if (split == Split::Rows)
            block(std::min(g.m, panelsM * t / parts * kMR),
                  std::min(g.m, panelsM * (t + 1) / parts * kMR), 0, panelsN);
          else
            block(0, g.m, panelsN * t / parts, panelsN * (t + 1) / parts);
        }
      });
    }
  }
}

}  // namespace tessera::codegen::gemm
