// Running one (batched) GEMM thunk on Tessera's thread pool, and which GEMM runs it: on CPUs with
// AVX2 + FMA (f32), by default Tessera's own sgemm (codegen/runtime/gemm/Sgemm.h: packed B shared
// by the threads, AVX2 micro-kernel); elsewhere, for f64, or with TESSERA_GEMM=openblas, OpenBLAS
// computing single-threaded inside the pool's threads. The own sgemm's packing buffers are planned
// and counted in the memory report (plannedPackingBytes below, gemm/Workspace.h); bench/gemm_ab.py
// alternates whole training steps of both. This file decides how a GEMM is split over the
// threads: by batch items (attention), by rows of C, or by columns of C when the rows are too few;
// with OpenBLAS each piece is one BLAS call on a sub-matrix. The split is a function of the shape
// and the thread count alone, so runs repeat bitwise (Tessera's sgemm: also equal to the 1-thread
// result).
//
// The benchmark (bench/kernel_bench --gemm) calls the same entry, so the per-shape GFLOP/s it
// measures is what the engine gets.
#pragma once

#include <cstdint>
#include <vector>

#include "codegen/runtime/ThreadPool.h"

namespace tessera::codegen {

namespace gemm {
class PackingWorkspace;  // gemm/Workspace.h
}

struct GemmProblem {
  bool f64 = false;
  bool transA = false, transB = false;
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;  // row-major, as cblas takes them
  const char* a = nullptr;
  const char* b = nullptr;
  char* c = nullptr;
  // Batch items: byte offsets of item i's A, B and C from a, b, c (all empty: one item).
  const std::vector<int64_t>* offsets[3] = {nullptr, nullptr, nullptr};
  int64_t batch = 1;
  // Tessera's sgemm packs into this workspace (at least the pool's size in slots; part t of the
  // split into slot t); null: into buffers kept by each OS thread (tests, benchmarks).
  gemm::PackingWorkspace* workspace = nullptr;
};

// How a problem is split over `threads` (exposed for tests and the benchmark's report).
enum class GemmSplit { Serial, Batch, Rows, Cols };
GemmSplit chooseGemmSplit(const GemmProblem& p, int threads);

// Makes OpenBLAS compute on its calling thread only (Tessera owns the threads); once per process.
void setBlasSingleThreaded();
// OpenBLAS's own thread count, for the benchmark's comparison with OpenBLAS threading itself
// (the engine never calls it).
void setBlasThreads(int threads);

// Which GEMM computes the f32 problems (f64 always goes to OpenBLAS).
enum class GemmBackend { OpenBlas, Tessera };
// The process's backend: gemmBackendFromSetting(getenv("TESSERA_GEMM")), read once per process.
GemmBackend defaultGemmBackend();
// What a TESSERA_GEMM value selects: unset or empty: Tessera's sgemm if the CPU has AVX2 + FMA,
// else OpenBLAS; "openblas": OpenBLAS; "tessera": Tessera's (without AVX2 + FMA: a warning on
// stderr and OpenBLAS); anything else: a warning on stderr naming the value, and the unset choice.
GemmBackend gemmBackendFromSetting(const char* value);
// Overrides it for the rest of the process (an unavailable backend: OpenBLAS); returns the
// previous choice. For tests that exercise the own sgemm through the engine; not thread-safe
// against GEMMs running at the same time.
GemmBackend setDefaultGemmBackend(GemmBackend backend);
// Whether `backend` can run on this CPU (Tessera's needs AVX2 + FMA).
bool gemmBackendAvailable(GemmBackend backend);

// C = op(A)·op(B) for every batch item, with defaultGemmBackend().
void runGemm(const GemmProblem& p, ThreadPool& pool);
// The same with a chosen backend (tests and the benchmark compare the two); an unavailable
// Tessera backend falls back to OpenBLAS.
void runGemm(const GemmProblem& p, ThreadPool& pool, GemmBackend backend);

// The bytes a PackingWorkspace of `threads` slots holds after runGemm ran each of `shapes` on a
// pool of `threads` with `backend` (the shapes' pointers are not read): per slot, the largest
// packed-A and packed-B buffer any of them asks of it. 0 for OpenBLAS (its buffers are its own)
// and for f64 problems.
int64_t plannedPackingBytes(const std::vector<GemmProblem>& shapes, int threads,
                            GemmBackend backend);

}  // namespace tessera::codegen
