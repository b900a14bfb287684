// SSA values: a function argument or an op result, with a type, an optional sharding, a name
// for the text form, and the list of its uses.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ir/Sharding.h"
#include "ir/Type.h"

namespace tessera::ir {

class Op;
class Function;

// One use of a value: operand `index` of `user`, or, when `user` is null, result `index` of the
// enclosing function (its return).
struct Use {
  Op* user = nullptr;
  int index = 0;
  bool operator==(const Use&) const = default;
};

class Value {
 public:
  const TensorType& type() const { return type_; }
  void setType(TensorType t) { type_ = std::move(t); }
  const std::optional<Sharding>& sharding() const { return sharding_; }
  void setSharding(std::optional<Sharding> s) { sharding_ = std::move(s); }
  // The name in the text form, without `%`; may be empty (the printer then numbers it).
  const std::string& name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }

  Op* definingOp() const { return def_; }  // null for a function argument
  int resultIndex() const { return index_; }  // for an argument: its position
  bool isArgument() const { return def_ == nullptr; }
  Function* function() const { return func_; }

  const std::vector<Use>& uses() const { return uses_; }
  bool hasUses() const { return !uses_.empty(); }
  // Points every use (ops and the function's return) at `v` instead.
  void replaceAllUsesWith(Value* v);

 private:
  friend class Op;
  friend class Function;
  Value(Function* f, Op* def, int index, TensorType t) : func_(f), def_(def), index_(index),
                                                         type_(std::move(t)) {}
  void addUse(Use u) { uses_.push_back(u); }
  void removeUse(Use u);

  Function* func_;
  Op* def_;
  int index_;
  TensorType type_;
  std::optional<Sharding> sharding_;
  std::string name_;
  std::vector<Use> uses_;
};

}  // namespace tessera::ir
