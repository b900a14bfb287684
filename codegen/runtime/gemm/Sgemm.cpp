// The sgemm driver: blocking loops, the shared packed B, the split over threads (see Sgemm.h).
#include "codegen/runtime/gemm/Sgemm.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdlib>
#include <cstring>

#include "codegen/runtime/gemm/Blocking.h"
#include "codegen/runtime/gemm/MicroKernel.h"
#include "codegen/runtime/gemm/Packing.h"

namespace tessera::codegen::gemm {

namespace {

// Bytes held by all threads' packing buffers (packingBytesHeld()).
std::atomic<int64_t> gHeldBytes{0};

// A growable 64-byte-aligned buffer, one per thread and role: packing buffers are reused across
// calls (a fresh multi-MiB allocation per GEMM would page-fault through it every time).
class Workspace {
 public:
  ~Workspace() {
    std::free(data_);
    gHeldBytes -= static_cast<int64_t>(capacity_);
  }
  float* get(int64_t floats) {
    size_t bytes = (static_cast<size_t>(floats) * sizeof(float) + 63) / 64 * 64;
    if (bytes > capacity_) {
      std::free(data_);
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      assert(data_ && "sgemm workspace allocation failed");
      gHeldBytes += static_cast<int64_t>(bytes - capacity_);
      capacity_ = bytes;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

thread_local Workspace tlsPackedA;  // each thread's MC x KC block of A
thread_local Workspace tlsPackedB;  // the calling thread's packed op(B), read by all threads

// How the threads share one KC x NC block of C's update.
enum class Split { Rows, Cols };

}  // namespace

int64_t packingBytesHeld() { return gHeldBytes.load(); }

void sgemm(const SgemmArgs& g, ThreadPool* pool) {
  assert(hasAvx2Fma());
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k == 0) {
    for (int64_t i = 0; i < g.m; ++i)
      std::memset(g.c + i * g.ldc, 0, static_cast<size_t>(g.n) * sizeof(float));
    return;
  }
  int threads = pool ? pool->size() : 1;
  int64_t kcMax = kcFor(g.k), blocksK = ceilDiv(g.k, kcMax);
  int64_t panelsM = ceilDiv(g.m, kMR);
  // Columns of op(B) packed at once, all of k deep (see Blocking.h: kPackedBFloats).
  int64_t ncMax = std::clamp(kPackedBFloats / (blocksK * kcMax) / kNR * kNR, kNR, kNC);
  for (int64_t jc = 0; jc < g.n; jc += ncMax) {
    int64_t nc = std::min(ncMax, g.n - jc), panelsN = ceilDiv(nc, kNR);
    // k block pk's panels start at packedB + pk * blockFloats; panel q of it at q * kc * NR.
    int64_t blockFloats = panelsN * kNR * kcMax;
    float* packedB = tlsPackedB.get(blocksK * blockFloats);
    // Rows when each thread gets several micro-panels of rows (A is then packed once overall);
    // columns when the rows are few (each thread then packs all of A, which is small).
    int parts = threads;
    Split split = Split::Rows;
    if (panelsM < 4 * threads) {
      if (panelsN >= 2 * threads) split = Split::Cols;
      else parts = 1;
    }
    // Packing units: (k block, micro-panel) pairs, k block major.
    auto packPart = [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1;) {
        int64_t pk = u / panelsN, q0 = u % panelsN, q1 = std::min(panelsN, q0 + (u1 - u));
        int64_t k0 = pk * kcMax, kc = std::min(kcMax, g.k - k0);
        packB(g.transB, g.b, g.ldb, k0, kc, jc, nc, q0, q1, packedB + pk * blockFloats);
        u += q1 - q0;
      }
    };
    if (parts > 1) pool->parallelFor(blocksK * panelsN, packPart);
    else packPart(0, blocksK * panelsN);
    // Rows [r0, r1) (multiples of MR, or m) by B micro-panels [q0, q1). Each MC-row block of C
    // takes all its k blocks in turn while it is still in cache.
    auto block = [&](int64_t r0, int64_t r1, int64_t q0, int64_t q1) {
      float* packedA = tlsPackedA.get(kMC * kcMax + kPackSlack);
      // Row blocks of equal size (whole micro-panels, at most MC): 510 rows as 132+132+132+114,
      // not 144+144+144+78, whose last block reuses each B micro-panel from L1 only 13 times.
      int64_t mcStep = ceilDiv(ceilDiv(r1 - r0, ceilDiv(r1 - r0, kMC)), kMR) * kMR;
      for (int64_t ic = r0; ic < r1; ic += mcStep) {
        int64_t mc = std::min(mcStep, r1 - ic);
        for (int64_t pk = 0; pk < blocksK; ++pk) {
          int64_t k0 = pk * kcMax, kc = std::min(kcMax, g.k - k0);
          packA(g.transA, g.a, g.lda, ic, mc, k0, kc, packedA);
          for (int64_t q = q0; q < q1; ++q) {
            int64_t cols = std::min(kNR, nc - q * kNR);
            const float* bp = packedB + pk * blockFloats + q * kc * kNR;
            float* cq = g.c + jc + q * kNR;
            for (int64_t ir = 0; ir < mc; ir += kMR)
              microKernel(kc, packedA + ir * kc, bp, cq + (ic + ir) * g.ldc, g.ldc,
                          std::min(kMR, mc - ir), cols, /*accumulate=*/pk > 0);
          }
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

}  // namespace tessera::codegen::gemm
