// Block sizes of Tessera's own sgemm (BLIS-style: C += A_block · B_panel in three cache levels),
// chosen for this machine's AMD EPYC (Zen 3): 32 KiB L1d and 512 KiB L2 per core, 32 MiB L3
// shared, two 256-bit FMA pipes with a 4-cycle latency.
//
//   MR x NR = 6 x 16   the micro-kernel's tile of C: 12 ymm accumulators (6 rows x 2 vectors),
//                      two B vectors and one broadcast A register = 15 of the 16 ymm registers;
//                      12 independent FMA chains cover the 2 pipes x 4 cycles of latency.
//   KC = 256           depth of one packed block: a B micro-panel (KC x NR floats = 16 KiB) stays
//                      in L1 while the kernel sweeps the A micro-panels (KC x MR = 6 KiB each)
//                      from L2 past it. The actual depth is k split into equal blocks of at most
//                      KC (k = 300 gives 2 x 150, not 256 + 44), a function of k alone.
//   MC = 144           rows of a packed A block (MC x KC floats = 144 KiB), well inside L2 next
//                      to the B micro-panels streaming through.
//   NC = 4096          at most this many columns of op(B) are packed at once, all k deep (every
//                      k block of them), and at most kPackedBFloats (16 MiB) in all: every B of
//                      the training step (K x N <= 3072 x 768 or 768 x 3072 = 9 MiB) is packed
//                      once, by all threads together, into one buffer they share from L3. The
//                      threads then need no barrier between k blocks, and each MC-row block of
//                      C takes all its k blocks in turn while it is in cache (1.7 MiB at N =
//                      3072), instead of the whole of C passing through the cache once per
//                      k block.
#pragma once

#include <cstdint>

namespace tessera::codegen::gemm {

inline constexpr int64_t kMR = 6;
inline constexpr int64_t kNR = 16;
inline constexpr int64_t kKC = 256;
inline constexpr int64_t kMC = 144;  // a multiple of kMR
inline constexpr int64_t kNC = 4096;  // a multiple of kNR
inline constexpr int64_t kPackedBFloats = int64_t{4} << 20;
inline constexpr int64_t kInPlaceAPanels = 4;  // see readAInPlace in Sgemm.cpp

// The depth of each k block: k split into ceil(k / KC) blocks of equal size (the last may be
// shorter by the remainder). Depends on k alone, so the summation order of every element of C is
// the same whatever the thread count or the split of C.
inline int64_t kcFor(int64_t k) {
  int64_t blocks = (k + kKC - 1) / kKC;
  return blocks == 0 ? 0 : (k + blocks - 1) / blocks;
}

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace tessera::codegen::gemm
