// Helpers for the kernel tests: a small builder for KernelDescs (types inferred from operands) and
// a call harness that owns the strides array a KernelArgs points into.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "codegen/kernel/KernelDesc.h"

namespace tessera::codegen::testing {

struct KB {
  KernelDesc d;
  explicit KB(int outerRank, const char* name = "k") { d.outerRank = outerRank; d.name = name; }
  int in(ScalarType t, InnerAccess a = InnerAccess::Contiguous) {
    d.inputs.push_back({t, a, "in" + std::to_string(d.inputs.size())});
    return static_cast<int>(d.inputs.size()) - 1;
  }
  // Outputs: add every input first (an output's buffer index is inputs.size() + o).
  int out(ScalarType t, InnerAccess a = InnerAccess::Contiguous) {
    d.outputs.push_back({t, a, "out" + std::to_string(d.outputs.size())});
    return static_cast<int>(d.inputs.size() + d.outputs.size()) - 1;
  }
  int push(Instr i) {
    d.body.push_back(i);
    return static_cast<int>(d.body.size()) - 1;
  }
  ScalarType ty(int v) const { return d.body[v].type; }
  int load(int buf) {
    Instr i; i.kind = InstrKind::Load; i.buffer = buf; i.type = d.inputs[buf].type; return push(i);
  }
  int cnst(ScalarType t, double c) {
    Instr i; i.kind = InstrKind::Const; i.type = t; i.constant = c; return push(i);
  }
  int coord(int dim) {
    Instr i; i.kind = InstrKind::Coord; i.type = ScalarType::I64; i.dim = dim; return push(i);
  }
  int un(UnaryFn f, int a) {
    Instr i; i.kind = InstrKind::Unary; i.unary = f; i.type = ty(a); i.args = {a}; return push(i);
  }
  int bin(BinaryFn f, int a, int b) {
    Instr i; i.kind = InstrKind::Binary; i.binary = f; i.type = ty(a); i.args = {a, b}; return push(i);
  }
  int cmp(CompareFn f, int a, int b) {
    Instr i; i.kind = InstrKind::Compare; i.compare = f; i.type = ScalarType::Bool; i.args = {a, b};
    return push(i);
  }
  int sel(int c, int a, int b) {
    Instr i; i.kind = InstrKind::Select; i.type = ty(a); i.args = {c, a, b}; return push(i);
  }
  int cast(ScalarType t, int a) {
    Instr i; i.kind = InstrKind::Cast; i.type = t; i.args = {a}; return push(i);
  }
  int red(ReduceFn f, int a) {
    Instr i; i.kind = InstrKind::Reduce; i.reduce = f; i.type = ty(a); i.args = {a}; return push(i);
  }
  int store(int buf, int a) {
    Instr i; i.kind = InstrKind::Store; i.buffer = buf; i.type = ty(a); i.args = {a}; return push(i);
  }
  KernelDesc done() {
    std::string err = d.validate();
    if (!err.empty()) throw std::runtime_error(err);
    return d;
  }
};

// Owns the arrays a KernelArgs points to. strides: per buffer, outer strides then inner stride.
struct Call {
  std::vector<void*> ptrs;
  std::vector<int64_t> extents;
  std::vector<int64_t> strides;
  int64_t cols = 0;
  KernelArgs args() const {
    KernelArgs a;
    a.buffers = ptrs.data();
    a.outerExtents = extents.data();
    a.cols = cols;
    a.strides = strides.data();
    return a;
  }
  int64_t rows() const {
    int64_t r = 1;
    for (int64_t e : extents) r *= e;
    return r;
  }
};

}  // namespace tessera::codegen::testing

namespace tessera::codegen::testing {

// Strides (outer then inner, in elements) and element count of a buffer laid out for `rows × cols`
// with the given access: Contiguous row-major, Broadcast one element per row, Strided transposed
// (element (r, j) at j * rows + r). broadcastDim0: outer stride 0 along row dim 0.
struct Layout {
  std::vector<int64_t> strides;
  int64_t elems = 0;
};
inline Layout layoutFor(InnerAccess a, const std::vector<int64_t>& extents, int64_t cols,
                        bool broadcastDim0 = false) {
  int rank = static_cast<int>(extents.size());
  int64_t rows = 1;
  for (int64_t e : extents) rows *= e;
  Layout l;
  l.strides.assign(rank + 1, 0);
  int64_t perRow = a == InnerAccess::Contiguous ? cols : 1;
  int64_t s = perRow;
  for (int k = rank - 1; k >= 0; --k) {
    l.strides[k] = s;
    s *= extents[k];
  }
  l.strides[rank] = a == InnerAccess::Strided ? rows : 1;
  l.elems = a == InnerAccess::Broadcast ? rows : rows * cols;
  if (broadcastDim0 && rank > 0) l.strides[0] = 0;
  return l;
}

}  // namespace tessera::codegen::testing
