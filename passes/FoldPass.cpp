// Constant folding and algebraic identities, one forward sweep per function repeated to a fixed
// point (a rewrite can expose another: neg(neg(neg x)) -> neg x).
#include "passes/FoldPass.h"

#include <memory>
#include <vector>

#include "ir/Module.h"
#include "ir/Tensor.h"

namespace tessera::passes {

using ir::Op;
using ir::OpKind;
using ir::Value;

namespace {

bool returnedByFunction(const Value* v) {
  for (const ir::Use& u : v->uses())
    if (u.user == nullptr) return true;
  return false;
}

// The tensor of a value produced by `constant`, else null.
const ir::Tensor* constantTensor(const Value* v) {
  const Op* def = v->definingOp();
  if (!def || def->kind() != OpKind::Constant) return nullptr;
  return std::get<ir::TensorAttr>(*def->attr("value")).value.get();
}

// Whether every element of `v` is known to equal `x` (a `full` or an all-equal constant).
bool isSplatOf(const Value* v, double x) {
  const Op* def = v->definingOp();
  if (!def) return false;
  if (def->kind() == OpKind::Full) return def->floatAttr("value") == x;
  if (const ir::Tensor* t = constantTensor(v)) {
    for (double e : t->data())
      if (e != x) return false;
    return t->numElements() > 0;
  }
  return false;
}

std::optional<std::vector<int64_t>> concreteShape(const ir::TensorType& t) {
  std::vector<int64_t> s;
  for (const ir::Dim& d : t.shape) {
    auto c = d.constant();
    if (!c) return std::nullopt;
    s.push_back(*c);
  }
  return s;
}

// Replaces `op` by evaluating it, if it qualifies; true if it did.
StatusOr<bool> foldConstant(ir::Function& f, Op* op) {
  if (op->info().traits != ir::kPure || op->numOperands() == 0) return false;
  std::vector<const ir::Tensor*> operands;
  for (Value* v : op->operands()) {
    const ir::Tensor* t = constantTensor(v);
    if (!t) return false;
    operands.push_back(t);
  }
  ir::EvalContext ctx{*op, operands, {}, {}, nullptr};
  for (int i = 0; i < op->numResults(); ++i) {
    auto shape = concreteShape(op->result(i)->type());
    if (!shape || ir::numElementsOf(*shape) > FoldPass::kMaxFoldedElements) return false;
    ctx.resultShapes.push_back(*shape);
    ctx.resultDTypes.push_back(op->result(i)->type().dtype);
  }
  auto results = op->info().eval(ctx);
  if (!results.isOk()) return false;  // e.g. an out-of-range index: leave it for run time
  size_t at = f.indexOf(op);
  for (int i = 0; i < op->numResults(); ++i) {
    ir::OpSpec spec{OpKind::Constant, {},
                    {{"value", ir::TensorAttr{std::make_shared<const ir::Tensor>(
                                   std::move((*results)[i]))}}},
                    {op->result(i)->type()}, op->loc()};
    TRY_ASSIGN(Op * c, f.addOp(std::move(spec), at + static_cast<size_t>(i)));
    c->result()->setName(op->result(i)->name());
    c->result()->setSharding(op->result(i)->sharding());
    op->result(i)->replaceAllUsesWith(c->result());
  }
  return true;
}

// The value `op`'s single result equals by an identity, or null.
Value* identityOperand(Op* op) {
  if (op->numResults() != 1 || op->numOperands() == 0) return nullptr;
  const ir::TensorType& type = op->result()->type();
  auto same = [&](Value* v) { return v->type() == type ? v : nullptr; };
  Value* a = op->operand(0);
  Value* b = op->numOperands() > 1 ? op->operand(1) : nullptr;
  switch (op->kind()) {
    case OpKind::Add:
      if (isSplatOf(b, 0)) return same(a);
      if (isSplatOf(a, 0)) return same(b);
      return nullptr;
    case OpKind::Sub:
      return isSplatOf(b, 0) ? same(a) : nullptr;
    case OpKind::Mul:
      if (isSplatOf(b, 1)) return same(a);
      if (isSplatOf(a, 1)) return same(b);
      return nullptr;
    case OpKind::Div:
      return isSplatOf(b, 1) ? same(a) : nullptr;
    case OpKind::Reshape:
    case OpKind::BroadcastInDim:
    case OpKind::Cast:
      return same(a);
    case OpKind::Transpose: {
      const auto& perm = op->attrAs<std::vector<int64_t>>("perm");
      for (size_t i = 0; i < perm.size(); ++i)
        if (perm[i] != static_cast<int64_t>(i)) return nullptr;
      return same(a);
    }
    case OpKind::Neg:
      if (a->definingOp() && a->definingOp()->kind() == OpKind::Neg)
        return same(a->definingOp()->operand(0));
      return nullptr;
    default:
      return nullptr;
  }
}

// reshape(reshape x) and transpose(transpose x) become one op reading x; true if rewritten.
bool mergeWithProducer(Op* op) {
  Op* inner = op->operand(0)->definingOp();
  if (!inner || inner->kind() != op->kind()) return false;
  if (op->kind() == OpKind::Reshape) {
    op->setOperand(0, inner->operand(0));
    return true;
  }
  if (op->kind() == OpKind::Transpose) {
    const auto& outer = op->attrAs<std::vector<int64_t>>("perm");
    const auto& first = inner->attrAs<std::vector<int64_t>>("perm");
    std::vector<int64_t> composed(outer.size());
    for (size_t i = 0; i < outer.size(); ++i) composed[i] = first[outer[i]];
    Status s = op->setAttr("perm", composed);
    assert(s.isOk());
    (void)s;
    op->setOperand(0, inner->operand(0));
    return true;
  }
  return false;
}

StatusOr<bool> foldFunction(ir::Function& f) {
  bool changed = false;
  for (bool again = true; again;) {
    again = false;
    for (size_t i = 0; i < f.ops().size(); ++i) {
      Op* op = f.ops()[i].get();
      bool returned = false;
      for (int r = 0; r < op->numResults(); ++r) returned |= returnedByFunction(op->result(r));
      TRY_ASSIGN(bool folded, foldConstant(f, op));
      if (!folded && !returned) {
        if (Value* v = identityOperand(op)) {
          op->result()->replaceAllUsesWith(v);
          folded = true;
        } else if (op->numOperands() == 1 && mergeWithProducer(op)) {
          again = changed = true;
          continue;
        }
      }
      if (!folded) continue;
      // The op (now unused) goes; its index now holds the next op or a new constant.
      f.eraseOp(f.ops()[f.indexOf(op)].get());
      again = changed = true;
      --i;
    }
  }
  return changed;
}

}  // namespace

StatusOr<bool> FoldPass::run(ir::Module& m) {
  bool changed = false;
  for (const auto& f : m.functions()) {
    TRY_ASSIGN(bool c, foldFunction(*f));
    changed |= c;
  }
  return changed;
}

}  // namespace tessera::passes
