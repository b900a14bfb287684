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
#include "codegen/runtime/gemm/Workspace.h"

namespace tessera::codegen::gemm {

namespace {

// Bytes held by every packing buffer of the process (packingBytesHeld()).
std::atomic<int64_t> gHeldBytes{0};

// Buffers of calls without a workspace: kept by the executing OS thread until it ends.
thread_local PackingWorkspace tlsWorkspace(1);

// How the threads share one KC x NC block of C's update.
enum class Split { Rows, Cols };
struct PartSplit {
  int parts;
  Split split;
};

// Rows when each thread gets several micro-panels of rows (A is then packed once overall);
// columns when the rows are few (each thread then packs all of A, which is small); one part when
// neither has enough.
PartSplit splitFor(int64_t panelsM, int64_t panelsN, int threads) {
  PartSplit s{threads, Split::Rows};
  if (panelsM < 4 * threads) {
    if (panelsN >= 2 * threads) s.split = Split::Cols;
    else s.parts = 1;
  }
  return s;
}

// Columns of op(B) packed at once, all of k deep (see Blocking.h: kPackedBFloats).
int64_t ncMaxFor(int64_t blocksK, int64_t kcMax) {
  return std::clamp(kPackedBFloats / (blocksK * kcMax) / kNR * kNR, kNR, kNC);
}

// Whether a row block's A is read in place instead of packed: when the column block has so few
// B micro-panels that each packed A element would be read only a few times, and packing it is a
// gather (A not transposed: a micro-panel interleaves 6 rows). The attention GEMMs (n = 64, 4
// micro-panels): one 256 x 64 x 256 item on one thread, median of 400, 73.7 GFLOP/s in place vs
// 60.8 packed; Aᵀ, whose packing is a contiguous copy, 60.4 vs 63.3, so it stays packed. A full
// MR-row micro-panel of op(A) is read where it is (6 rows x kc floats, in L1 across the few B
// micro-panels); a partial one at the end of m is packed (zero-padded), so nothing past op(A) is
// read.
bool readAInPlace(int64_t panelsN, bool transA) {
  return !transA && panelsN <= kInPlaceAPanels;
}

}  // namespace

namespace detail {
void countHeld(int64_t delta) { gHeldBytes += delta; }
}  // namespace detail

int64_t packingBytesHeld() { return gHeldBytes.load(); }

SgemmPacking sgemmPacking(int64_t m, int64_t n, int64_t k, int threads) {
  SgemmPacking out;
  if (m <= 0 || n <= 0 || k <= 0) return out;
  int64_t kcMax = kcFor(k), blocksK = ceilDiv(k, kcMax);
  int64_t nc = std::min(ncMaxFor(blocksK, kcMax), n), panelsN = ceilDiv(nc, kNR);
  // The first column block is the widest, so its split has the most parts.
  out.parts = splitFor(ceilDiv(m, kMR), panelsN, std::max(threads, 1)).parts;
  out.aFloats = kMC * kcMax + kPackSlack;
  out.bFloats = blocksK * panelsN * kNR * kcMax;
  return out;
}

void sgemm(const SgemmArgs& g, ThreadPool* pool, PackingWorkspace* ws, int slot) {
  assert(hasAvx2Fma());
  if (g.m <= 0 || g.n <= 0) return;
  if (g.k == 0) {
    for (int64_t i = 0; i < g.m; ++i)
      std::memset(g.c + i * g.ldc, 0, static_cast<size_t>(g.n) * sizeof(float));
    return;
  }
  int threads = pool ? pool->size() : 1;
  assert(!ws || (slot >= 0 && slot + threads <= ws->slots()));
  int64_t kcMax = kcFor(g.k), blocksK = ceilDiv(g.k, kcMax);
  int64_t panelsM = ceilDiv(g.m, kMR);
  int64_t ncMax = ncMaxFor(blocksK, kcMax);
  for (int64_t jc = 0; jc < g.n; jc += ncMax) {
    int64_t nc = std::min(ncMax, g.n - jc), panelsN = ceilDiv(nc, kNR);
    // k block pk's panels start at packedB + pk * blockFloats; panel q of it at q * kc * NR.
    int64_t blockFloats = panelsN * kNR * kcMax;
    float* packedB = ws ? ws->packedB(slot, blocksK * blockFloats)
                        : tlsWorkspace.packedB(0, blocksK * blockFloats);
    auto [parts, split] = splitFor(panelsM, panelsN, threads);
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
    // Part t: rows [r0, r1) (multiples of MR, or m) by B micro-panels [q0, q1). Each MC-row
    // block of C takes all its k blocks in turn while it is still in cache.
    auto block = [&](int64_t t, int64_t r0, int64_t r1, int64_t q0, int64_t q1) {
      int64_t aFloats = kMC * kcMax + kPackSlack;  // sgemmPacking's aFloats
      float* packedA = ws ? ws->packedA(slot + static_cast<int>(t), aFloats)
                          : tlsWorkspace.packedA(0, aFloats);
      // Row blocks of equal size (whole micro-panels, at most MC): 510 rows as 132+132+132+114,
      // not 144+144+144+78, whose last block reuses each B micro-panel from L1 only 13 times.
      int64_t mcStep = ceilDiv(ceilDiv(r1 - r0, ceilDiv(r1 - r0, kMC)), kMR) * kMR;
      if (readAInPlace(q1 - q0, g.transA)) {
        int64_t rs = g.lda, ks = 1;  // op(A)[i][k] = a[i * lda + k]
        for (int64_t ir = r0; ir < r1; ir += kMR) {
          int64_t rows = std::min(kMR, r1 - ir);
          for (int64_t pk = 0; pk < blocksK; ++pk) {
            int64_t k0 = pk * kcMax, kc = std::min(kcMax, g.k - k0);
            if (rows < kMR) packA(g.transA, g.a, g.lda, ir, rows, k0, kc, packedA);
            for (int64_t q = q0; q < q1; ++q) {
              int64_t cols = std::min(kNR, nc - q * kNR);
              const float* bp = packedB + pk * blockFloats + q * kc * kNR;
              float* cq = g.c + ir * g.ldc + jc + q * kNR;
              if (rows < kMR)
                microKernel(kc, packedA, bp, cq, g.ldc, rows, cols, /*accumulate=*/pk > 0);
              else
                microKernelStridedA(kc, g.a + ir * rs + k0 * ks, rs, ks, bp, cq, g.ldc, cols,
                                    /*accumulate=*/pk > 0);
            }
          }
        }
        return;
      }
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
      block(0, 0, g.m, 0, panelsN);
      continue;
    }
    pool->parallelFor(parts, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        if (split == Split::Rows)
          block(t, std::min(g.m, panelsM * t / parts * kMR),
                std::min(g.m, panelsM * (t + 1) / parts * kMR), 0, panelsN);
        else
          block(t, 0, g.m, panelsN * t / parts, panelsN * (t + 1) / parts);
      }
    });
  }
}

}  // namespace tessera::codegen::gemm
