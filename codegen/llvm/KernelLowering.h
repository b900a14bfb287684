// Lowers a KernelDesc to one LLVM IR function with the KernelFn ABI
// (`void f(const KernelArgs*, int64_t rowBegin, int64_t rowEnd)`).
//
// Shape of the generated code, per row: coordinates and row pointers, then the row-level values
// that need no reduction (Broadcast loads are hoisted here), then one loop over j per reduction
// pass (kReduceLanes elements per iteration in vectors of `vectorWidth` lanes, then a scalar tail),
// then the loop that stores the element-level outputs (vectors, then a scalar tail computed by
// the same emitter at width 1, so every element gets the same operation sequence), then the
// row-level stores. Rows of at most 2048 elements keep the transcendental values of the last
// reduction pass that the store loop needs again (softmax's exp(x - max)) in a stack array instead
// of computing them twice (the same bits either way), and the last of several passes prefetches
// the next row's inputs while it computes on a row already in L1. Vectorized explicitly here: LLVM's loop vectorizer would not vectorize FP
// reductions without reassociation, and the reduction order is part of the contract (KernelDesc.h).
#pragma once

#include <string>

#include "codegen/kernel/KernelDesc.h"

namespace llvm {
class Function;
class Module;
}  // namespace llvm

namespace tessera::codegen::llvmgen {

// `desc` must be valid (validate() returned ""). vectorWidth: lanes per vector, a power of two that
// divides kReduceLanes (8 for AVX2, 16 for AVX-512).
llvm::Function* lowerKernel(const KernelDesc& desc, llvm::Module& m, const std::string& symbol,
                            int vectorWidth);

}  // namespace tessera::codegen::llvmgen
