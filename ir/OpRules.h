// Signatures of the per-op rules named in OpKinds.def, and their declarations.
//
// An InferFn computes an op's result types from its operand types and attributes (and, for ops
// such as reshape, from the declared result type). An EvalFn is the op's reference semantics on
// concrete tensors; the interpreter calls it with result shapes already evaluated.
// Rules live by family in ir/rules/*.cpp (shape) and ir/interp/*.cpp (semantics).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/Status.h"
#include "ir/Tensor.h"
#include "ir/Type.h"

namespace tessera::ir {

class Op;
class Module;
class Mesh;
class RankRuntime;

struct InferContext {
  const Op& op;
  const Module* module;  // for mesh lookups; may be null for a detached op
  std::vector<TensorType> operands;
  std::vector<const TensorType*> declared;  // per result; null where not declared

  // An error at the op's location, prefixed with its mnemonic.
  Status error(const std::string& message) const;
  // The mesh a collective runs over: its `mesh` attribute, else the module's only mesh.
  StatusOr<const Mesh*> mesh() const;
  // The declared type of result i, or an error saying the op needs one.
  StatusOr<TensorType> requireDeclared(int i) const;
};

struct EvalContext {
  const Op& op;
  std::vector<const Tensor*> operands;
  std::vector<std::vector<int64_t>> resultShapes;  // concrete, from the result types
  std::vector<DType> resultDTypes;
  // The symbol values of this run (set by the interpreter; null when an eval function is called
  // on its own, which then recovers what it needs from the shapes).
  const std::map<std::string, int64_t>* symbols = nullptr;
  // The rank this program runs as (ir/RankRuntime.h), for collectives and axis_index; null in a
  // single-device run.
  RankRuntime* runtime = nullptr;

  Status error(const std::string& message) const;
};

using InferFn = StatusOr<std::vector<TensorType>> (*)(const InferContext&);
using EvalFn = StatusOr<std::vector<Tensor>> (*)(const EvalContext&);

#define OP(id, mnemonic, nOperands, nResults, traits, infer, eval, ...) \
  StatusOr<std::vector<TensorType>> infer(const InferContext&);           \
  StatusOr<std::vector<Tensor>> eval(const EvalContext&);
#include "ir/OpKinds.def"

}  // namespace tessera::ir
