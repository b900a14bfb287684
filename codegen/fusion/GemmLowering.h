// matmul and dot as batched BLAS GEMMs. The operands' views usually fold into the call as
// transposes and leading dimensions (an attention head's Q is a strided slice of the QKV
// projection, K^T is a transpose flag); when they do not, the operand is copied first into
// [batch..., free..., contract...] order, which always folds.
#pragma once

#include <optional>
#include <string>

#include "codegen/exec/Executable.h"

namespace tessera::codegen {

// What the lowering driver offers the per-op lowerings.
class LoweringContext {
 public:
  virtual ~LoweringContext() = default;
  virtual Executable& exe() = 0;
  virtual BufferView viewOf(const ir::Value* v) = 0;
  virtual void setView(const ir::Value* v, BufferView view) = 0;
  // Where `v` should be written, when a later value's buffer holds it (Placement.h).
  virtual std::optional<BufferView> destination(const ir::Value* v) = 0;
  virtual BufferView newBuffer(const std::string& name, ir::DType t, const ir::Shape& shape,
                               MemCategory c) = 0;
  virtual BufferView copy(const BufferView& src, ir::DType t, const std::string& name,
                          MemCategory c) = 0;
  virtual BufferView contiguous(const ir::Value* v, MemCategory c) = 0;
  virtual std::string valueName(const ir::Value* v) = 0;
  virtual MemCategory categoryOf(const ir::Value* v) = 0;
};

// Emits the GEMM thunk (and any operand copies) for a matmul or dot; false when the op's form
// is not a GEMM (matmul with broadcast batch dims), left to the library.
bool lowerGemm(const ir::Op& op, LoweringContext& cx);

}  // namespace tessera::codegen
