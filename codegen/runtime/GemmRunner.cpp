// GEMM splitting over the pool (see GemmRunner.h).
#include "codegen/runtime/GemmRunner.h"

#include <cblas.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "codegen/runtime/gemm/MicroKernel.h"
#include "codegen/runtime/gemm/Sgemm.h"

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

// Batch item `i` of an f32 problem through Tessera's sgemm, on `pool` (nullptr: this thread).
void ownItem(const GemmProblem& p, int64_t i, ThreadPool* pool) {
  gemm::SgemmArgs g;
  g.transA = p.transA;
  g.transB = p.transB;
  g.m = p.m, g.n = p.n, g.k = p.k, g.lda = p.lda, g.ldb = p.ldb, g.ldc = p.ldc;
  g.a = reinterpret_cast<const float*>(p.a + (p.offsets[0] ? (*p.offsets[0])[i] : 0));
  g.b = reinterpret_cast<const float*>(p.b + (p.offsets[1] ? (*p.offsets[1])[i] : 0));
  g.c = reinterpret_cast<float*>(p.c + (p.offsets[2] ? (*p.offsets[2])[i] : 0));
  gemm::sgemm(g, pool);
}

void runOwn(const GemmProblem& p, ThreadPool& pool) {
  switch (chooseGemmSplit(p, pool.size())) {
    case GemmSplit::Serial:
      for (int64_t i = 0; i < p.batch; ++i) ownItem(p, i, nullptr);
      return;
    case GemmSplit::Batch:
      pool.parallelFor(p.batch, [&](int64_t b0, int64_t b1) {
        for (int64_t i = b0; i < b1; ++i) ownItem(p, i, nullptr);
      });
      return;
    case GemmSplit::Rows:
    case GemmSplit::Cols:  // the sgemm splits rows or columns itself, sharing the packed B
      for (int64_t i = 0; i < p.batch; ++i) ownItem(p, i, &pool);
      return;
  }
}

GemmBackend backendFromEnvironment() {
  const char* env = std::getenv("TESSERA_GEMM");
  if (!env || !*env) return GemmBackend::OpenBlas;
  std::string v = env;
  if (v == "openblas") return GemmBackend::OpenBlas;
  if (v == "tessera") {
    if (gemmBackendAvailable(GemmBackend::Tessera)) return GemmBackend::Tessera;
    std::fprintf(stderr, "tessera: warning: TESSERA_GEMM=tessera needs AVX2 + FMA; using "
                 "openblas\n");
    return GemmBackend::OpenBlas;
  }
  std::fprintf(stderr, "tessera: warning: TESSERA_GEMM='%s' is not 'openblas' or 'tessera'; "
               "using openblas\n", env);
  return GemmBackend::OpenBlas;
}

}  // namespace

GemmBackend defaultGemmBackend() {
  static const GemmBackend backend = backendFromEnvironment();
  return backend;
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

}  // namespace tessera::codegen
