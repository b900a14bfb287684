// Lowering one IR function to an Executable: fusion (FusionPlan.h), views for free data movement
// (reshape, transpose, broadcast_in_dim and slice become strides, never copies, unless a consumer
// needs a layout the strides cannot give), batched GEMMs for matmul/dot, library thunks for the
// rest, and start/done placeholders for collectives.
#pragma once

#include <set>
#include <string>

#include "codegen/exec/Executable.h"

namespace tessera::codegen {

struct LoweringOptions {
  bool fuse = true;  // false: one kernel per fusible op (for tests)
  // Argument names by memory category (others are inputs).
  std::set<std::string> parameters;
  std::set<std::string> optimizerState;
};

StatusOr<Executable> lowerFunction(const ir::Function& f, const LoweringOptions& o);

// Row-major strides of a symbolic shape, in elements.
std::vector<ir::Dim> rowMajorStrides(const ir::Shape& s);
// The strides of `view` reshaped to `shape` without copying, if the strides allow it.
std::optional<BufferView> reshapeView(const BufferView& view, const ir::Shape& shape);

}  // namespace tessera::codegen
