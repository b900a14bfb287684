// The one generic operation class. What an op means comes from its kind's entry in the op table
// (OpKinds.def); an Op holds its operands, results, typed attributes and source location.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/OpInfo.h"
#include "ir/Value.h"

namespace tessera::ir {

class Op {
 public:
  OpKind kind() const { return kind_; }
  const OpInfo& info() const { return opInfo(kind_); }
  const char* mnemonic() const { return info().mnemonic; }
  const Location& loc() const { return loc_; }
  void setLoc(Location l) { loc_ = std::move(l); }
  Function* function() const { return func_; }

  int numOperands() const { return static_cast<int>(operands_.size()); }
  Value* operand(int i) const { return operands_[i]; }
  const std::vector<Value*>& operands() const { return operands_; }
  void setOperand(int i, Value* v);

  int numResults() const { return static_cast<int>(results_.size()); }
  Value* result(int i = 0) const { return results_[i].get(); }

  // ---- attributes: one optional slot per attribute the op table declares ----
  bool hasAttr(std::string_view name) const;
  const AttrValue* attr(std::string_view name) const;  // null if unset; asserts the name exists
  // Sets a declared attribute; an error if the name is unknown or the kind differs.
  Status setAttr(std::string_view name, AttrValue v);
  void clearAttr(std::string_view name);
  // Slot i, parallel to info().attrs.
  const std::optional<AttrValue>& attrSlot(int i) const { return attrs_[i]; }

  // Typed accessors; the attribute must be declared with that kind.
  template <typename T>
  const T& attrAs(std::string_view name) const { return std::get<T>(*attr(name)); }
  int64_t intAttr(std::string_view name, int64_t dflt = 0) const;
  double floatAttr(std::string_view name, double dflt = 0) const;
  bool boolAttr(std::string_view name, bool dflt = false) const;
  template <typename E>
  E enumAttr(std::string_view name, E dflt) const {
    const AttrValue* v = attr(name);
    return v ? static_cast<E>(std::get<EnumAttr>(*v).index) : dflt;
  }

 private:
  friend class Function;
  Op(Function* f, OpKind kind, Location loc);
  void dropOperands();

  Function* func_;
  OpKind kind_;
  Location loc_;
  std::vector<Value*> operands_;
  std::vector<std::unique_ptr<Value>> results_;
  std::vector<std::optional<AttrValue>> attrs_;
};

// Builds an enum attribute value from its C++ enum.
template <typename E>
EnumAttr makeEnum(const EnumDef& def, E v) {
  return EnumAttr{&def, static_cast<int>(v)};
}

}  // namespace tessera::ir
