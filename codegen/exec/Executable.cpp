// Names and the readable listing of an Executable.
#include "codegen/exec/Executable.h"

namespace tessera::codegen {

const char* memCategoryName(MemCategory c) {
  switch (c) {
    case MemCategory::Parameter: return "parameters";
    case MemCategory::Gradient: return "gradients";
    case MemCategory::OptimizerState: return "optimizer state";
    case MemCategory::Activation: return "activations";
    case MemCategory::Workspace: return "workspace";
    case MemCategory::Input: return "inputs";
  }
  return "?";
}

const char* thunkKindName(ThunkKind k) {
  switch (k) {
    case ThunkKind::Kernel: return "kernel";
    case ThunkKind::Gemm: return "gemm";
    case ThunkKind::Library: return "library";
    case ThunkKind::Collective: return "collective";
  }
  return "?";
}

std::string Executable::str() const {
  std::string s;
  for (size_t i = 0; i < thunks.size(); ++i) {
    const Thunk& t = thunks[i];
    s += std::to_string(i) + ": " + thunkKindName(t.kind) + " " + t.label + " [";
    for (size_t v = 0; v < t.views.size(); ++v) {
      const BufferView& bv = t.views[v];
      s += (v ? ", " : "") + std::string(bv.write ? "out " : "") + buffers[bv.buffer].name;
    }
    s += "]\n";
  }
  return s;
}

}  // namespace tessera::codegen
