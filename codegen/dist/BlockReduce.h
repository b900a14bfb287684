// reduceBlocks: the reduction every CPU collective uses to combine what it received — the n
// group members' contributions summed (or max/min) in group-position order, in double precision
// (exact int64 for i64) and rounded once, as the in-process simulation does
// (partition/exec/SimulatedCollectives.cpp). Doing it on every rank in the same order is what makes
// a reduction's bits the same on every rank (CollectiveCall.h says why MPI_Allreduce is not used).
#pragma once

#include <cstdint>

#include "ir/Op.h"

namespace tessera::codegen {

// Reduces `n` blocks (block p at base + p * strideBytes, `count` elements of type t each) into
// dst in block order, accumulating in double (int64 for i64) and rounding once.
void reduceBlocks(const void* base, int64_t strideBytes, int n, int64_t count, ir::DType t,
                  ir::ReduceOp op, void* dst);

}  // namespace tessera::codegen
