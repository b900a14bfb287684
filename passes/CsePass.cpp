// Common subexpression elimination over one block in SSA order.
#include "passes/CsePass.h"

#include <bit>
#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace tessera::passes {
namespace {

bool sameBits(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

bool sameAttr(const ir::AttrValue& a, const ir::AttrValue& b) {
  if (a.index() != b.index()) return false;
  if (const double* x = std::get_if<double>(&a)) return sameBits(*x, std::get<double>(b));
  if (const auto* x = std::get_if<ir::TensorAttr>(&a)) {
    const ir::Tensor& s = *x->value;
    const ir::Tensor& t = *std::get<ir::TensorAttr>(b).value;
    if (s.dtype() != t.dtype() || s.shape() != t.shape()) return false;
    for (int64_t i = 0; i < s.numElements(); ++i)
      if (!sameBits(s[i], t[i])) return false;
    return true;
  }
  return a == b;
}

// Kind and operands are the bucket key; this compares the rest.
bool sameComputation(const ir::Op& a, const ir::Op& b) {
  const ir::OpInfo& info = a.info();
  for (size_t i = 0; i < info.attrs.size(); ++i) {
    const auto& x = a.attrSlot(static_cast<int>(i));
    const auto& y = b.attrSlot(static_cast<int>(i));
    if (x.has_value() != y.has_value()) return false;
    if (x && !sameAttr(*x, *y)) return false;
  }
  if (a.numResults() != b.numResults()) return false;
  for (int i = 0; i < a.numResults(); ++i) {
    if (a.result(i)->type() != b.result(i)->type()) return false;
    if (a.result(i)->sharding() != b.result(i)->sharding()) return false;
  }
  return true;
}

}  // namespace

StatusOr<bool> eliminateCommonSubexpressions(ir::Function& f) {
  std::set<const ir::Value*> defined;
  for (int i = 0; i < f.numArguments(); ++i) defined.insert(f.argument(i));
  std::map<std::pair<ir::OpKind, std::vector<ir::Value*>>, std::vector<ir::Op*>> seen;
  bool changed = false;
  for (int i = 0; i < f.numOps();) {
    ir::Op* op = f.ops()[i].get();
    for (int k = 0; k < op->numOperands(); ++k)
      if (!defined.count(op->operand(k)))
        return Status::error(op->loc(), std::string("cse: operand ") + std::to_string(k) + " of '" +
                                            op->mnemonic() +
                                            "' is used before it is defined; the function is "
                                            "not in SSA order (run 'verify' first)");
    ir::Op* first = nullptr;
    if (!op->info().hasSideEffect()) {
      auto& bucket = seen[{op->kind(), op->operands()}];
      for (ir::Op* cand : bucket)
        if (sameComputation(*cand, *op)) {
          first = cand;
          break;
        }
      if (!first) bucket.push_back(op);
    }
    if (!first) {
      for (int r = 0; r < op->numResults(); ++r) defined.insert(op->result(r));
      ++i;
      continue;
    }
    for (int r = 0; r < op->numResults(); ++r) op->result(r)->replaceAllUsesWith(first->result(r));
    f.eraseOp(op);  // the next op is now at index i
    changed = true;
  }
  return changed;
}

StatusOr<bool> CsePass::run(ir::Module& m) {
  bool changed = false;
  for (const auto& f : m.functions()) {
    TRY_ASSIGN(bool c, eliminateCommonSubexpressions(*f));
    changed |= c;
  }
  return changed;
}

}  // namespace tessera::passes
