// Builds the KernelDesc (and the kernel thunk) of one fused group: member ops become scalar
// instructions over the group's iteration space, values from outside become loads through their
// buffer views (broadcasting and transposes are just strides), leaves are recomputed in place.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "codegen/exec/Executable.h"

namespace tessera::codegen {

ScalarType scalarTypeOf(ir::DType t);  // asserts the dtype is one a kernel supports

class KernelEmitter {
 public:
  using ViewFn = std::function<BufferView(const ir::Value*)>;
  using LeafFn = std::function<bool(const ir::Value*)>;

  KernelEmitter(std::string name, std::vector<ir::Dim> outer, ir::Dim cols, ViewFn viewOf,
                LeafFn isLeaf);

  int outerRank() const { return static_cast<int>(outer_.size()); }
  // Emits a member op whose operands are members emitted before, leaves or outside values.
  void emitMember(const ir::Op& op);
  // The instruction computing `v` with its dims mapped to loop dims by `map` (-1: index 0).
  int value(const ir::Value* v, const std::vector<int>& map);
  // A load through `view` (whose dims map to loop dims by `map`).
  int load(const BufferView& view, ir::DType t, const std::vector<int>& map);
  // Stores instruction `instr` into `dst` (shape = the value's shape): element-level when the
  // value's dims cover the space, else per row.
  void store(int instr, const BufferView& dst, ir::DType t, const std::vector<int>& map,
             const std::string& name);
  int memberInstr(const ir::Value* v) const;
  int addInstr(Instr in) { return add(std::move(in)); }

  // The identity map of a value of shape `s` read by an op whose result has the space's shape
  // (numpy broadcasting, right-aligned).
  std::vector<int> broadcastMap(const ir::Shape& operand, const ir::Shape& result,
                                const std::vector<int>& resultMap) const;
  std::vector<int> spaceMap(const ir::Shape& s) const;

  // Adds the kernel to `kernels` and returns its thunk.
  Thunk finish(std::vector<KernelDesc>* kernels, const std::string& label, Location loc);

 private:
  int add(Instr in);
  int constant(double v, ScalarType t);
  int cast(int x, ScalarType from, ScalarType to);
  int unary(UnaryFn f, int x, ScalarType t);
  int binary(BinaryFn f, int a, int b, ScalarType t);
  int reduce(ReduceFn f, int x, ScalarType t);
  int colsAsValue(ScalarType t);  // the row length as a per-row value (exact count)
  int elementLevel(int x);        // x itself, or x made per-element when it is per-row
  int alwaysTrue();               // a per-element Bool that is true everywhere
  int emitOp(const ir::Op& op, const std::vector<int>& resultMap);

  std::vector<ir::Dim> outer_;
  ir::Dim cols_;
  ViewFn viewOf_;
  LeafFn isLeaf_;
  KernelDesc desc_;
  std::vector<bool> rowLevel_;  // per instruction
  std::vector<BufferView> inViews_, outViews_;
  std::map<const ir::Value*, int> members_;
  std::map<std::pair<const ir::Value*, std::vector<int>>, int> leafCache_;
  std::map<std::string, int> loadCache_;
};

}  // namespace tessera::codegen
