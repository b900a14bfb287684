// Destination passing: values stored straight into the buffer of a later value, so the copies a
// layout change would cost are never made.
//
// Two patterns of a transformer step, both found before lowering:
//  - a pad-sum: add(pad(x1), pad(x2), ...) with zero pads that tile one axis exactly (the
//    gradient of slicing the fused QKV projection) is a concatenation. Each x_i gets a slot in the
//    sum's buffer; the pads and adds emit nothing, where they used to fill and re-add three
//    [B,S,3H] tensors. Which adds and pads form such a sum is an IR-level rule shared with the
//    cost model (passes/fusion/PadSums.h); this file decides where each piece goes.
//  - a reshape that strides cannot express (merging the heads of a GEMM's [B,heads,S,hd] output
//    into [B,S,H] after a transpose): the reshape's result gets a row-major buffer of its own.
// A slot propagates backwards through the single-use reshape/transpose chain that produced the
// value, as the inverse view, so the GEMM at the chain's start writes its C (a strided view with
// a leading dimension) directly in the final layout. Whatever cannot write into its slot (a
// non-GEMM producer, a C the BLAS cannot express) is copied into it once, which is never worse
// than before.
#pragma once

#include <map>
#include <set>

#include "codegen/exec/Executable.h"
#include "ir/Function.h"

namespace tessera::codegen {

struct Slot {
  const ir::Value* root = nullptr;  // the value whose buffer holds this one
  BufferView view;                  // into the root's row-major buffer (buffer is left -1)
};

struct Placement {
  std::map<const ir::Value*, Slot> slots;  // roots have a slot of their own (the whole buffer)
  std::set<const ir::Op*> assembled;       // pad-sum pads and adds: no code of their own
  std::set<const ir::Value*> sumRoots;     // results of the outermost pad-sum adds
  std::map<const ir::Op*, Slot> padPieces; // each assembled pad: where its operand goes
  // Values whose slot is the inverse view of their single user's (a reshape or transpose):
  // once such a value is in its slot, so is that user's result, with no code.
  std::set<const ir::Value*> chained;
};

Placement planPlacement(const ir::Function& f);

// Whether `op` runs as a GEMM (matmul / dot over f32 or f64 with matching operand types).
bool isGemmOp(const ir::Op& op);

}  // namespace tessera::codegen
