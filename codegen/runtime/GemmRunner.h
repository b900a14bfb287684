// Running one (batched) GEMM thunk on Tessera's thread pool: OpenBLAS computes single-threaded
// inside the pool's threads, and this file decides how a GEMM is split over them: by batch items
// (attention), by rows of C, or by columns of C when the rows are too few. Each piece is one BLAS
// call on a sub-matrix; the split is a function of the shape and the thread count alone, so runs
// repeat bitwise.
//
// The benchmark (bench/kernel_bench --gemm) calls the same entry, so the per-shape GFLOP/s it
// measures is what the engine gets.
#pragma once

#include <cstdint>
#include <vector>

#include "codegen/runtime/ThreadPool.h"

namespace tessera::codegen {

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
};

// How a problem is split over `threads` (exposed for tests and the benchmark's report).
enum class GemmSplit { Serial, Batch, Rows, Cols };
GemmSplit chooseGemmSplit(const GemmProblem& p, int threads);

// Makes OpenBLAS compute on its calling thread only (Tessera owns the threads); once per process.
void setBlasSingleThreaded();
// OpenBLAS's own thread count, for the benchmark's comparison with OpenBLAS threading itself
// (the engine never calls it).
void setBlasThreads(int threads);

// C = op(A)·op(B) for every batch item.
void runGemm(const GemmProblem& p, ThreadPool& pool);

}  // namespace tessera::codegen
