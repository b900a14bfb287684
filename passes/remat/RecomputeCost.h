// What recomputing one op costs, at concrete symbol values: its FLOPs, and an estimate of its time.
//
// FLOPs: contractions count 2 per multiply-add (matmul: 2·M·N·K for each batch; dot: 2 · result
// elements · contracted size); every other op counts one FLOP per result element.
//
// Time (what `remat{mode=auto}` minimizes): FLOPs alone mis-rank recompute choices, because the
// non-contraction ops a selective recompute repeats (softmax, scaling, masking, GELU over
// [B,heads,S,S] and [B,S,4h] tensors) are memory bound: a FLOP of them costs far more time than a
// FLOP of a GEMM. So a contraction is priced at a GEMM rate and every other op by the bytes it
// moves (each operand read once, each result written once — as if unfused, an upper bound the
// engine's fusion only lowers) at a memory bandwidth. The rates are parameters (passes may not
// depend on partition/cost); the defaults are this project's 2-core AVX2 host: OpenBLAS/own
// sgemm at ~120 GFLOP/s on GPT-base shapes (closing note 13: 89% of a 5 s step for ~550 GFLOP),
// and ~10 GB/s for the engine's elementwise kernels (a few GB/s per core of streamed reads and
// writes, measured as fused-kernel time over bytes on the same step). Only the ratio of the two
// rates changes which plan wins; the absolute values only scale the reported estimate.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ir/Op.h"

namespace tessera::passes {

struct RecomputeRates {
  double gemmFlopsPerSecond = 120e9;
  double bytesPerSecond = 10e9;
};

StatusOr<int64_t> opFlops(const ir::Op& op, const std::map<std::string, int64_t>& symbols);

// Whether the op is priced as a GEMM (matmul, dot).
bool isContraction(const ir::Op& op);

// Bytes an unfused kernel of this op moves: every operand once plus every result once.
StatusOr<int64_t> opBytesMoved(const ir::Op& op, const std::map<std::string, int64_t>& symbols);

// Estimated seconds to recompute the op: FLOPs / GEMM rate for contractions, bytes moved /
// bandwidth otherwise. Rates must be positive (asserted; the pass checks user input).
StatusOr<double> opRecomputeSeconds(const ir::Op& op,
                                    const std::map<std::string, int64_t>& symbols,
                                    const RecomputeRates& rates);

}  // namespace tessera::passes
