// A function: arguments, one block of ops in SSA order, and the values it returns.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/Op.h"

namespace tessera::ir {

class Module;

// Everything needed to create an op. `declared` result types may be left empty when the op's
// shape rule can derive them; ops such as reshape or iota need them.
struct OpSpec {
  OpKind kind;
  std::vector<Value*> operands;
  std::vector<std::pair<std::string, AttrValue>> attrs;
  std::vector<TensorType> declared;
  Location loc;
};

class Function {
 public:
  Function(Module* m, std::string name) : module_(m), name_(std::move(name)) {}
  Function(const Function&) = delete;
  Function& operator=(const Function&) = delete;
  ~Function();

  const std::string& name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }
  Module* module() const { return module_; }
  Location loc;

  // ---- arguments ----
  Value* addArgument(TensorType t, std::string name = "", std::optional<Sharding> s = {});
  int numArguments() const { return static_cast<int>(args_.size()); }
  Value* argument(int i) const { return args_[i].get(); }

  // ---- ops, in program order ----
  const std::vector<std::unique_ptr<Op>>& ops() const { return ops_; }
  int numOps() const { return static_cast<int>(ops_.size()); }
  // Creates an op at `position` (default: the end) after checking operand count and attributes
  // and running its shape rule; results take the inferred types (which must equal any declared
  // ones). On error nothing is added.
  StatusOr<Op*> addOp(OpSpec spec, std::optional<size_t> position = std::nullopt);
  // Position of `op` in ops(); asserts it belongs here.
  size_t indexOf(const Op* op) const;
  // Removes an op whose results have no uses.
  void eraseOp(Op* op);
  // Puts the ops in `order`, a permutation of ops() in which every operand is defined before its
  // use (asserted).
  void reorderOps(const std::vector<Op*>& order);

  // ---- results (the `return`) ----
  const std::vector<Value*>& results() const { return results_; }
  void setResults(std::vector<Value*> values);
  void setResult(int i, Value* v);
  Location returnLoc;

 private:
  Module* module_;
  std::string name_;
  std::vector<std::unique_ptr<Value>> args_;
  std::vector<std::unique_ptr<Op>> ops_;
  std::vector<Value*> results_;
};

// Runs the op's shape rule with its current operand types, treating its current result types as
// declared. Used by the verifier and by passes that rewrite operands.
StatusOr<std::vector<TensorType>> inferResultTypes(const Op& op);

}  // namespace tessera::ir
