// The reference implementation of a KernelDesc: runs the description literally, one instruction at a
// time over whole rows, in the value types (f32 math in float), with the documented reduction order.
// Slow and obviously right; the LLVM lowering is tested against it (bit-exact except for the
// transcendentals, which here come from libm). Free of LLVM, usable by any part of codegen.
#pragma once

#include <cstdint>

#include "codegen/kernel/KernelDesc.h"

namespace tessera::codegen {

// Processes rows [rowBegin, rowEnd) exactly as the compiled KernelFn would. `desc` must be valid
// (validate() returned ""); the buffers must hold every element the strides address.
void evaluateKernel(const KernelDesc& desc, const KernelArgs& args, int64_t rowBegin,
                    int64_t rowEnd);

// The number of rows of a call: the product of the outer extents (1 when outerRank is 0).
int64_t kernelRowCount(const KernelDesc& desc, const KernelArgs& args);

}  // namespace tessera::codegen
