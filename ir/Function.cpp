// Op creation (with shape inference), erasure and the function's return.
#include "ir/Function.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <set>

#include "ir/Module.h"

namespace tessera::ir {

Function::~Function() {
  // Drop every use before values are destroyed, in any order.
  setResults({});
  for (auto& op : ops_) op->dropOperands();
}

Value* Function::addArgument(TensorType t, std::string name, std::optional<Sharding> s) {
  auto v = std::unique_ptr<Value>(new Value(this, nullptr, numArguments(), std::move(t)));
  v->setName(std::move(name));
  v->setSharding(std::move(s));
  args_.push_back(std::move(v));
  return args_.back().get();
}

static StatusOr<std::vector<TensorType>> runInfer(const Op& op,
                                                  const std::vector<TensorType>* declared) {
  InferContext ctx{op, op.function() ? op.function()->module() : nullptr, {}, {}};
  for (Value* v : op.operands()) ctx.operands.push_back(v->type());
  for (int i = 0; i < op.numResults(); ++i)
    ctx.declared.push_back(declared && i < static_cast<int>(declared->size()) ? &(*declared)[i]
                                                                             : nullptr);
  TRY_ASSIGN(std::vector<TensorType> types, op.info().infer(ctx));
  assert(static_cast<int>(types.size()) == op.numResults());
  if (declared && !declared->empty()) {
    for (int i = 0; i < op.numResults(); ++i)
      if (types[i] != (*declared)[i])
        return Status::error(op.loc(), std::string(op.mnemonic()) + ": result " +
                                           std::to_string(i) + " is declared " +
                                           (*declared)[i].str() + " but the op produces " +
                                           types[i].str());
  }
  return types;
}

StatusOr<std::vector<TensorType>> inferResultTypes(const Op& op) {
  std::vector<TensorType> current;
  for (int i = 0; i < op.numResults(); ++i) current.push_back(op.result(i)->type());
  return runInfer(op, &current);
}

StatusOr<Op*> Function::addOp(OpSpec spec, std::optional<size_t> position) {
  const OpInfo& info = opInfo(spec.kind);
  std::string what = std::string(info.mnemonic) + ": ";
  int n = static_cast<int>(spec.operands.size());
  if (info.numOperands >= 0 && n != info.numOperands)
    return Status::error(spec.loc, what + "expects " + std::to_string(info.numOperands) +
                                       " operands, got " + std::to_string(n));
  if (info.numOperands < 0 && n == 0)
    return Status::error(spec.loc, what + "expects at least one operand");
  for (Value* v : spec.operands) assert(v && v->function() == this);
  if (!spec.declared.empty() && static_cast<int>(spec.declared.size()) != info.numResults)
    return Status::error(spec.loc, what + "has " + std::to_string(info.numResults) +
                                       " results, " + std::to_string(spec.declared.size()) +
                                       " types were given");

  std::unique_ptr<Op> op(new Op(this, spec.kind, spec.loc));
  for (auto& [name, value] : spec.attrs) TRY(op->setAttr(name, std::move(value)));
  for (const AttrSpec& a : info.attrs)
    if (a.required && !op->hasAttr(a.name))
      return Status::error(spec.loc, what + "missing required attribute '" + a.name + "'");
  op->operands_.resize(n, nullptr);
  for (int i = 0; i < n; ++i) op->setOperand(i, spec.operands[i]);
  for (int i = 0; i < info.numResults; ++i)
    op->results_.push_back(std::unique_ptr<Value>(new Value(this, op.get(), i, {})));

  auto types = runInfer(*op, &spec.declared);
  if (!types.isOk()) {
    op->dropOperands();
    return types.status();
  }
  for (int i = 0; i < info.numResults; ++i) op->results_[i]->setType((*types)[i]);

  size_t at = position ? std::min(*position, ops_.size()) : ops_.size();
  ops_.insert(ops_.begin() + static_cast<std::ptrdiff_t>(at), std::move(op));
  return ops_[at].get();
}

size_t Function::indexOf(const Op* op) const {
  for (size_t i = 0; i < ops_.size(); ++i)
    if (ops_[i].get() == op) return i;
  assert(false && "op is not in this function");
  return ops_.size();
}

void Function::reorderOps(const std::vector<Op*>& order) {
  assert(order.size() == ops_.size());
  std::map<const Op*, std::unique_ptr<Op>> owned;
  for (auto& op : ops_) owned.emplace(op.get(), std::move(op));
  std::set<const Op*> placed;
  for (size_t i = 0; i < order.size(); ++i) {
    auto it = owned.find(order[i]);
    assert(it != owned.end() && it->second && "reorderOps: not a permutation of ops()");
    for (const Value* v : order[i]->operands())
      assert((!v->definingOp() || placed.count(v->definingOp())) &&
             "reorderOps: an operand is used before its definition");
    placed.insert(order[i]);
    ops_[i] = std::move(it->second);
  }
}

void Function::eraseOp(Op* op) {
  for (int i = 0; i < op->numResults(); ++i) assert(!op->result(i)->hasUses());
  op->dropOperands();
  ops_.erase(ops_.begin() + static_cast<std::ptrdiff_t>(indexOf(op)));
}

void Function::setResults(std::vector<Value*> values) {
  for (size_t i = 0; i < results_.size(); ++i)
    if (results_[i]) results_[i]->removeUse({nullptr, static_cast<int>(i)});
  results_ = std::move(values);
  for (size_t i = 0; i < results_.size(); ++i)
    if (results_[i]) results_[i]->addUse({nullptr, static_cast<int>(i)});
}

void Function::setResult(int i, Value* v) {
  if (results_[i]) results_[i]->removeUse({nullptr, i});
  results_[i] = v;
  if (v) v->addUse({nullptr, i});
}

}  // namespace tessera::ir
