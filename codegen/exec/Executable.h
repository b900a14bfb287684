// The Executable: one function lowered to a flat list of thunks (fused kernel, GEMM, library op,
// collective placeholder) over symbolic buffers, plus the kernel descriptions the kernel thunks
// run. It is the unit the buffer planner (codegen/memory/) plans, the CPU runtime
// (codegen/runtime/) runs and serialization (ExecutableProto.h) writes.
//
// Shapes, offsets and strides stay symbolic (ir::Dim over the module's symbols): a run binds the
// symbols once from its inputs and evaluates every Dim then, so one Executable serves every batch
// size and sequence length. Library thunks keep a reference to their IR op (by index in the
// function), whose attributes and reference semantics they use; the function must therefore stay
// alive as long as the Executable (a deserialized Executable owns its module).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "codegen/kernel/KernelDesc.h"
#include "ir/Module.h"

namespace tessera::codegen {

// What a buffer holds, for the memory report.
enum class MemCategory { Parameter, Gradient, OptimizerState, Activation, Workspace, Input };
inline constexpr int kNumMemCategories = 6;
const char* memCategoryName(MemCategory c);

struct BufferInfo {
  std::string name;      // the IR value's name (or "%<n>"), for reports and errors
  ir::DType dtype = ir::DType::F32;
  ir::Dim elements;      // symbolic element count
  MemCategory category = MemCategory::Activation;
  int argument = -1;     // >= 0: the storage of function argument #argument (not in the arena)
};

// How a thunk sees a buffer: element (i_0, ..., i_{n-1}) of the view is at
// offset + Σ i_k * strides[k] elements from the buffer's start.
struct BufferView {
  int buffer = -1;
  ir::Dim offset;
  std::vector<ir::Dim> shape;
  std::vector<ir::Dim> strides;
  bool write = false;  // the thunk writes through this view
};

enum class ThunkKind {
  Kernel,      // a fused kernel: kernels[kernel] over `outer` × `cols`
  Gemm,        // batched C = A·B through BLAS
  Library,     // a precompiled C++ kernel (or the reference semantics) for op `op`
  Collective,  // start/done placeholder: fails until the distributed runtime exists
};
const char* thunkKindName(ThunkKind k);

// A batched GEMM: for every batch index b (row-major over batch), with A(b) at a.offset +
// Σ b_k a.strides[k] (likewise B, C): C = op(A)·op(B), op(A) is M×K, op(B) is K×N, row-major
// leading dimensions lda/ldb/ldc. The views' shape/strides hold the batch dims only.
struct GemmInfo {
  std::vector<ir::Dim> batch;
  ir::Dim m, n, k, lda, ldb, ldc;
  bool transA = false, transB = false;
};

struct Thunk {
  ThunkKind kind = ThunkKind::Kernel;
  std::string label;  // "fusion_3 (add, layer_norm)", "gemm dot", ... for traces and errors
  Location loc;       // the first op's location
  // Kernel: views in the kernel's buffer order (inputs then outputs), each with outerRank + 1
  // strides (the inner stride last); Gemm: A, B, C; Library: operands then results (contiguous).
  std::vector<BufferView> views;
  int kernel = -1;
  std::vector<ir::Dim> outer;
  ir::Dim cols;
  GemmInfo gemm;
  int op = -1;  // Library / Collective: index of the op in the function
};

struct Executable {
  const ir::Function* function = nullptr;
  std::shared_ptr<ir::Module> ownedModule;  // set when deserialized
  std::vector<KernelDesc> kernels;
  std::vector<BufferInfo> buffers;
  std::vector<Thunk> thunks;
  std::vector<int> argumentBuffers;  // per function argument
  std::vector<int> resultBuffers;    // per function result (each a whole, distinct buffer)

  // A readable listing: one line per thunk with its buffers. For tests and debugging.
  std::string str() const;
};

}  // namespace tessera::codegen
