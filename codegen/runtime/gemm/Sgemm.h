// Tessera's own single-precision GEMM, C = op(A) · op(B), BLIS-style: op(B) is packed once (up to
// NC columns, all of k, in KC-deep blocks) into a buffer SHARED by all threads of the pool (each
// packs a share of its micro-panels), then each thread packs its own MC x KC blocks of A and runs
// the 6 x 16 AVX2 micro-kernel over them (codegen/runtime/gemm/: Blocking.h, Packing.h,
// MicroKernel.h). Two fork-joins per GEMM (pack, compute), none between k blocks.
//
// Why not OpenBLAS split over the pool: every thread's BLAS call packs the whole of B again, and
// each call reblocks its share of rows on its own; here the packed B is shared and the block
// sizes are the machine's.
//
// Deterministic: the threads split C by rows or by columns, never k; each element of C is summed
// in k order, block by block of kcFor(k), whatever the thread count, so results repeat bitwise
// and equal the 1-thread result. Requires hasAvx2Fma() (MicroKernel.h); f64 stays on OpenBLAS.
#pragma once

#include <cstdint>

#include "codegen/runtime/ThreadPool.h"

namespace tessera::codegen::gemm {

struct SgemmArgs {
  bool transA = false, transB = false;
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;  // row-major, as cblas takes them
  const float* a = nullptr;
  const float* b = nullptr;
  float* c = nullptr;
};

// C = op(A) · op(B) (C's previous contents ignored; k = 0 gives zeros), on the pool's threads
// (nullptr: on the caller alone). Callable from a pool thread with pool = nullptr.
void sgemm(const SgemmArgs& g, ThreadPool* pool);

// Bytes of packing buffers the sgemm holds right now, over all threads: each thread that ran it
// keeps its buffers (an MC x KC block of A; for a calling thread also the packed op(B), up to
// 16 MiB) for the next call, until the thread ends. The engine's memory report can count them as
// workspace.
int64_t packingBytesHeld();

}  // namespace tessera::codegen::gemm
