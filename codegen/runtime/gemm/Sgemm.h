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

class PackingWorkspace;  // Workspace.h

struct SgemmArgs {
  bool transA = false, transB = false;
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;  // row-major, as cblas takes them
  const float* a = nullptr;
  const float* b = nullptr;
  float* c = nullptr;
};

// C = op(A) · op(B) (C's previous contents ignored; k = 0 gives zeros), on the pool's threads
// (nullptr: on the caller alone). Callable from a pool thread with pool = nullptr.
// Packing buffers: with a workspace, the packed op(B) goes to slot `slot` and part t's packed A
// to slot `slot` + t (parts <= pool size; slot + parts <= ws->slots()); without one, to buffers
// kept by the executing OS thread until it ends.
void sgemm(const SgemmArgs& g, ThreadPool* pool, PackingWorkspace* ws = nullptr, int slot = 0);

// What one sgemm call of this shape asks of its packing buffers (the driver's own rule, exposed
// so the memory report can plan the workspace before anything runs). Zero parts when m, n or k
// is 0 (nothing is packed).
struct SgemmPacking {
  int parts = 0;        // parts that pack A: slots slot .. slot + parts - 1
  int64_t aFloats = 0;  // each part's packed A block (MC x KC + slack)
  int64_t bFloats = 0;  // the packed op(B) of the largest column block (slot `slot`)
};
SgemmPacking sgemmPacking(int64_t m, int64_t n, int64_t k, int threads);

// Bytes of packing buffers held right now by the whole process: every PackingWorkspace and the
// per-thread buffers of calls without one.
int64_t packingBytesHeld();

namespace detail {
void countHeld(int64_t delta);  // Workspace.cpp's buffers report their capacity changes here
}  // namespace detail

}  // namespace tessera::codegen::gemm
