// Operands, results and attribute slots of an op.
#include "ir/Op.h"

#include <cassert>

namespace tessera::ir {

Op::Op(Function* f, OpKind kind, Location loc)
    : func_(f), kind_(kind), loc_(std::move(loc)), attrs_(opInfo(kind).attrs.size()) {}

void Op::setOperand(int i, Value* v) {
  assert(i >= 0 && i < numOperands());
  if (operands_[i]) operands_[i]->removeUse({this, i});
  operands_[i] = v;
  if (v) v->addUse({this, i});
}

void Op::dropOperands() {
  for (int i = 0; i < numOperands(); ++i) setOperand(i, nullptr);
}

bool Op::hasAttr(std::string_view name) const {
  int i = info().attrIndex(name);
  return i >= 0 && attrs_[i].has_value();
}

const AttrValue* Op::attr(std::string_view name) const {
  int i = info().attrIndex(name);
  assert(i >= 0 && "op has no attribute of that name");
  return attrs_[i] ? &*attrs_[i] : nullptr;
}

Status Op::setAttr(std::string_view name, AttrValue v) {
  int i = info().attrIndex(name);
  if (i < 0)
    return Status::error(loc_, std::string(mnemonic()) + " has no attribute '" +
                                   std::string(name) + "'");
  const AttrSpec& spec = info().attrs[i];
  if (attrKindOf(v) != spec.kind)
    return Status::error(loc_, std::string(mnemonic()) + " attribute '" + std::string(name) +
                                   "' must be a " + attrKindName(spec.kind));
  if (spec.kind == AttrKind::Enum && std::get<EnumAttr>(v).def != spec.enumDef)
    return Status::error(loc_, std::string(mnemonic()) + " attribute '" + std::string(name) +
                                   "' must be a " + spec.enumDef->name);
  attrs_[i] = std::move(v);
  return Status::ok();
}

void Op::clearAttr(std::string_view name) {
  int i = info().attrIndex(name);
  assert(i >= 0);
  attrs_[i].reset();
}

int64_t Op::intAttr(std::string_view name, int64_t dflt) const {
  const AttrValue* v = attr(name);
  return v ? std::get<int64_t>(*v) : dflt;
}

double Op::floatAttr(std::string_view name, double dflt) const {
  const AttrValue* v = attr(name);
  return v ? std::get<double>(*v) : dflt;
}

bool Op::boolAttr(std::string_view name, bool dflt) const {
  const AttrValue* v = attr(name);
  return v ? std::get<bool>(*v) : dflt;
}

}  // namespace tessera::ir
