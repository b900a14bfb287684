// Precompiled C++ kernels for the ops that do not fuse: gather, scatter_add, reductions over
// any axes, cross_entropy; every other op runs its reference semantics (the op table's EvalFn)
// on tensors converted from and to the buffers — correct for every op, and used only where no
// faster path exists. A native kernel that meets bad input (an index out of range) hands over to
// the reference, whose error message names the op, the index and where it was found.
#pragma once

#include <map>
#include <vector>

#include "codegen/runtime/ThreadPool.h"
#include "ir/Op.h"

namespace tessera::codegen {

struct HostArray {
  void* data = nullptr;
  ir::DType dtype = ir::DType::F32;
  std::vector<int64_t> shape;
};

// With a pool, the native kernels split their work over its threads; every output element is
// still computed by one thread in the same order as on one, so results are bitwise the same.
Status runLibraryOp(const ir::Op& op, const std::vector<HostArray>& operands,
                    const std::vector<HostArray>& results,
                    const std::map<std::string, int64_t>& symbols, ThreadPool* pool = nullptr);

// The reference path alone (for tests and for the ops without a native kernel).
Status runReferenceOp(const ir::Op& op, const std::vector<HostArray>& operands,
                      const std::vector<HostArray>& results,
                      const std::map<std::string, int64_t>& symbols);

}  // namespace tessera::codegen
