// GEMM splitting over the pool (see GemmRunner.h).
#include "codegen/runtime/GemmRunner.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "codegen/runtime/gemm/MicroKernel.h"
#include "codegen/runtime/gemm/Sgemm.h"
#include "codegen/runtime/gemm/Workspace.h"

namespace tessera::codegen {

namespace {

// Below this many multiply-adds a GEMM runs on the calling thread: a wake-up of the pool costs a
// few microseconds, the work below takes about as long.
constexpr double kParallelFlops = 1 << 18;
// A split piece narrower than this many rows or columns loses more to BLAS packing and edge
// handling than the extra thread wins.
constexpr int64_t kMinPiece = 16;

void gemmCall(bool f64, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const char* a,
              int64_t lda, const char* b, int64_t ldb, char* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  int64_t esz = f64 ? 8 : 4;
  if (k == 0) {
    for (int64_t i = 0; i < m; ++i) std::memset(c + i * ldc * esz, 0, n * esz);
    return;
  }
  CBLAS_TRANSPOSE tA = ta ? CblasTrans : CblasNoTrans, tB = tb ? CblasTrans : CblasNoTrans;
  if (f64)
    cblas_dgemm(CblasRowMajor, tA, tB, m, n, k, 1.0, reinterpret_cast<const double*>(a), lda,
                reinterpret_cast<const double*>(b), ldb, 0.0, reinterpret_cast<double*>(c), ldc);
  else
    cblas_sgemm(CblasRowMajor, tA, tB, m, n, k, 1.0f, reinterpret_cast<const float*>(a), lda,
                reinterpret_cast<const float*>(b), ldb, 0.0f, reinterpret_cast<float*>(c), ldc);
}

// Batch item `i`, rows [m0, m1) and columns [n0, n1) of C.
void piece(const GemmProblem& p, int64_t i, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  int64_t esz = p.f64 ? 8 : 4;
  const char* a = p.a + (p.offsets[0] ? (*p.offsets[0])[i] : 0);
  const char* b = p.b + (p.offsets[1] ? (*p.offsets[1])[i] : 0);
  char* c = p.c + (p.offsets[2] ? (*p.offsets[2])[i] : 0);
  a += m0 * (p.transA ? 1 : p.lda) * esz;    // rows of op(A)
  b += n0 * (p.transB ? p.ldb : 1) * esz;    // columns of op(B)
  c += (m0 * p.ldc + n0) * esz;
  gemmCall(p.f64, p.transA, p.transB, m1 - m0, n1 - n0, p.k, a, p.lda, b, p.ldb, c, p.ldc);
}

// Batch item `i` of an f32 problem through Tessera's sgemm, on `pool` (nullptr: this thread),
// packing into p.workspace's slots from `slot` on.
void ownItem(const GemmProblem& p, int64_t i, ThreadPool* pool, int slot) {
  gemm::SgemmArgs g;
  g.transA = p.transA;
  g.transB = p.transB;
  g.m = p.m, g.n = p.n, g.k = p.k, g.lda = p.lda, g.ldb = p.ldb, g.ldc = p.ldc;
  g.a = reinterpret_cast<const float*>(p.a + (p.offsets[0] ? (*p.offsets[0])[i] : 0));
  g.b = reinterpret_cast<const float*>(p.b + (p.offsets[1] ? (*p.offsets[1])[i] : 0));
  g.c = reinterpret_cast<float*>(p.c + (p.offsets[2] ? (*p.offsets[2])[i] : 0));
  gemm::sgemm(g, pool, p.workspace, slot);
}

// Batch split: part t (slot t) takes items [batch * t / parts, batch * (t + 1) / parts).
int64_t batchPartBegin(int64_t batch, int64_t t, int parts) { return batch * t / parts; }

void runOwn(const GemmProblem& p, ThreadPool& pool) {
  assert(!p.workspace || p.workspace->slots() >= pool.size());
  switch (chooseGemmSplit(p, pool.size())) {
    case GemmSplit::Serial:
      for (int64_t i = 0; i < p.batch; ++i) ownItem(p, i, nullptr, 0);
      return;
    case GemmSplit::Batch: {
      // One chunk per part (not per item) so that a part always packs into its own slot,
      // whichever thread claims it.
      int parts = static_cast<int>(std::min<int64_t>(p.batch, pool.size()));
      pool.parallelFor(parts, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t)
          for (int64_t i = batchPartBegin(p.batch, t, parts);
               i < batchPartBegin(p.batch, t + 1, parts); ++i)
            ownItem(p, i, nullptr, static_cast<int>(t));
      });
      return;
    }
    case GemmSplit::Rows:
    case GemmSplit::Cols:  // the sgemm splits rows or columns itself, sharing the packed B
      for (int64_t i = 0; i < p.batch; ++i) ownItem(p, i, &pool, 0);
      return;
  }
}

// The process's GEMM when the environment says nothing: the own sgemm where it runs (AVX2 + FMA),
// else OpenBLAS.
GemmBackend hostDefault() {
  return gemmBackendAvailable(GemmBackend::Tessera) ? GemmBackend::Tessera : GemmBackend::OpenBlas;
}

const char* backendName(GemmBackend b) { return b == GemmBackend::Tessera ? "tessera" : "openblas"; }

}  // namespace

GemmBackend gemmBackendFromSetting(const char* env) {
  if (!env || !*env) return hostDefault();
  std::string v = env;
  if (v == "openblas") return GemmBackend::OpenBlas;
  if (v == "tessera") {
    if (gemmBackendAvailable(GemmBackend::Tessera)) return GemmBackend::Tessera;
    std::fprintf(stderr, "tessera: warning: TESSERA_GEMM=tessera needs AVX2 + FMA; using "
                 "openblas\n");
    return GemmBackend::OpenBlas;
  }
  std::fprintf(stderr, "tessera: warning: TESSERA_GEMM='%s' is not 'openblas' or 'tessera'; "
               "using %s\n", env, backendName(hostDefault()));
  return hostDefault();
}

namespace {

// The process's choice: from the environment at first use, or setDefaultGemmBackend's.
std::atomic<int>& chosenBackend() {
  static std::atomic<int> chosen{static_cast<int>(gemmBackendFromSetting(std::getenv("TESSERA_GEMM")))};
  return chosen;
}

}  // namespace

GemmBackend defaultGemmBackend() { return static_cast<GemmBackend>(chosenBackend().load()); }

GemmBackend setDefaultGemmBackend(GemmBackend backend) {
  if (!gemmBackendAvailable(backend)) backend = GemmBackend::OpenBlas;
  return static_cast<GemmBackend>(chosenBackend().exchange(static_cast<int>(backend)));
}

bool gemmBackendAvailable(GemmBackend backend) {
  return backend == GemmBackend::OpenBlas || gemm::hasAvx2Fma();
}

void setBlasSingleThreaded() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

void setBlasThreads(int threads) { openblas_set_num_threads(std::max(threads, 1)); }

GemmSplit chooseGemmSplit(const GemmProblem& p, int threads) {
  double flops = static_cast<double>(p.batch) * p.m * p.n * p.k;
  if (threads <= 1 || flops < kParallelFlops) return GemmSplit::Serial;
  // Whole batch items when they divide evenly enough (at most one item of imbalance in four).
  if (p.batch >= threads && (p.batch % threads == 0 || p.batch >= 4 * threads))
    return GemmSplit::Batch;
  if (p.m >= kMinPiece * threads) return GemmSplit::Rows;
  if (p.n >= kMinPiece * threads) return GemmSplit::Cols;
  if (p.batch >= threads) return GemmSplit::Batch;
  return GemmSplit::Serial;
}

void runGemm(const GemmProblem& p, ThreadPool& pool) { runGemm(p, pool, defaultGemmBackend()); }

void runGemm(const GemmProblem& p, ThreadPool& pool, GemmBackend backend) {
  if (p.m == 0 || p.n == 0 || p.batch == 0) return;
  if (!p.f64 && backend == GemmBackend::Tessera && gemmBackendAvailable(backend))
    return runOwn(p, pool);
  int threads = pool.size();
  switch (chooseGemmSplit(p, threads)) {
    case GemmSplit::Serial:
      for (int64_t i = 0; i < p.batch; ++i) piece(p, i, 0, p.m, 0, p.n);
      return;
    case GemmSplit::Batch:
      pool.parallelFor(p.batch, [&](int64_t b0, int64_t b1) {
        for (int64_t i = b0; i < b1; ++i) piece(p, i, 0, p.m, 0, p.n);
      });
      return;
    case GemmSplit::Rows:
    case GemmSplit::Cols: {
      bool rows = chooseGemmSplit(p, threads) == GemmSplit::Rows;
      // Pieces of whole register blocks (multiples of 16) so no thread gets a ragged edge in the
      // middle of C.
      int64_t extent = rows ? p.m : p.n;
      int64_t blocks = (extent + 15) / 16;
      for (int64_t i = 0; i < p.batch; ++i)
        pool.parallelFor(std::min<int64_t>(blocks, threads), [&](int64_t t0, int64_t t1) {
          int64_t parts = std::min<int64_t>(blocks, threads);
          int64_t lo = std::min(extent, blocks * t0 / parts * 16);
          int64_t hi = std::min(extent, blocks * t1 / parts * 16);
          if (rows) piece(p, i, lo, hi, 0, p.n);
          else piece(p, i, 0, p.m, lo, hi);
        });
      return;
    }
  }
}

int64_t plannedPackingBytes(const std::vector<GemmProblem>& shapes, int threads,
                            GemmBackend backend) {
  if (backend != GemmBackend::Tessera || !gemmBackendAvailable(backend)) return 0;
  threads = std::max(threads, 1);
  // Per slot, the largest request (in floats) of its packed-A and packed-B buffer, following
  // runOwn's split and the sgemm's own rule (gemm::sgemmPacking).
  std::vector<int64_t> aMax(static_cast<size_t>(threads), 0), bMax(aMax);
  // One sgemm call packing op(B) into `slot` and part t's A into slot + t.
  auto note = [&](int slot, const gemm::SgemmPacking& s) {
    for (int t = 0; t < s.parts; ++t)
      aMax[static_cast<size_t>(slot + t)] = std::max(aMax[static_cast<size_t>(slot + t)], s.aFloats);
    if (s.parts > 0)
      bMax[static_cast<size_t>(slot)] = std::max(bMax[static_cast<size_t>(slot)], s.bFloats);
  };
  for (const GemmProblem& p : shapes) {
    if (p.f64 || p.m == 0 || p.n == 0 || p.batch == 0) continue;
    switch (chooseGemmSplit(p, threads)) {
      case GemmSplit::Serial:
        note(0, gemm::sgemmPacking(p.m, p.n, p.k, 1));
        break;
      case GemmSplit::Batch: {
        int parts = static_cast<int>(std::min<int64_t>(p.batch, threads));
        for (int t = 0; t < parts; ++t)
          if (batchPartBegin(p.batch, t + 1, parts) > batchPartBegin(p.batch, t, parts))
            note(t, gemm::sgemmPacking(p.m, p.n, p.k, 1));
        break;
      }
      case GemmSplit::Rows:
      case GemmSplit::Cols:
        note(0, gemm::sgemmPacking(p.m, p.n, p.k, threads));
        break;
    }
  }
  int64_t bytes = 0;
  for (int t = 0; t < threads; ++t) {
    if (aMax[static_cast<size_t>(t)] > 0) bytes += gemm::packingBufferBytes(aMax[static_cast<size_t>(t)]);
    if (bMax[static_cast<size_t>(t)] > 0) bytes += gemm::packingBufferBytes(bMax[static_cast<size_t>(t)]);
  }
  return bytes;
}

}  // namespace tessera::codegen
