// Inlining one function's body into another (see FunctionInliner.h).
#include "passes/training/FunctionInliner.h"

#include <unordered_map>

namespace tessera::passes {

using ir::Dim;
using ir::Value;

Dim substitute(const Dim& d, const DimSubstitution& s) {
  Dim out;
  for (const auto& [monomial, coeff] : d.terms()) {
    Dim term(coeff.num);
    for (const std::string& sym : monomial)
      term = term * (sym == s.symbol ? s.replacement : Dim::symbol(sym));
    out = out + term.divide(coeff.den);
  }
  return out;
}

ir::TensorType substitute(const ir::TensorType& t, const DimSubstitution& s) {
  ir::TensorType out{t.dtype, {}};
  for (const Dim& d : t.shape) out.shape.push_back(substitute(d, s));
  return out;
}

StatusOr<std::vector<Value*>> inlineFunction(const ir::Function& src, ir::Function& dst,
                                             const std::vector<Value*>& args,
                                             const std::optional<DimSubstitution>& subst,
                                             IrEmitter* names, const std::string& suffix) {
  assert(static_cast<int>(args.size()) == src.numArguments());
  std::unordered_map<const Value*, Value*> map;
  for (int i = 0; i < src.numArguments(); ++i) map[src.argument(i)] = args[i];

  for (const auto& op : src.ops()) {
    ir::OpSpec spec{op->kind(), {}, {}, {}, op->loc()};
    for (Value* v : op->operands()) {
      auto it = map.find(v);
      assert(it != map.end() && "operand defined outside the inlined function");
      spec.operands.push_back(it->second);
    }
    const auto& attrSpecs = op->info().attrs;
    for (size_t i = 0; i < attrSpecs.size(); ++i) {
      const std::optional<ir::AttrValue>& a = op->attrSlot(static_cast<int>(i));
      if (!a) continue;
      ir::AttrValue v = *a;
      if (subst)
        if (auto* dims = std::get_if<std::vector<Dim>>(&v))
          for (Dim& d : *dims) d = substitute(d, *subst);
      spec.attrs.emplace_back(attrSpecs[i].name, std::move(v));
    }
    for (int r = 0; r < op->numResults(); ++r) {
      const ir::TensorType& t = op->result(r)->type();
      spec.declared.push_back(subst ? substitute(t, *subst) : t);
    }
    TRY_ASSIGN(ir::Op * copy, dst.addOp(std::move(spec)));
    for (int r = 0; r < op->numResults(); ++r) {
      Value* from = op->result(r);
      Value* to = copy->result(r);
      if (from->sharding()) to->setSharding(from->sharding());
      if (!from->name().empty())
        to->setName(names ? names->freshName(from->name() + suffix) : from->name() + suffix);
      map[from] = to;
    }
  }

  std::vector<Value*> results;
  for (Value* v : src.results()) results.push_back(map.at(v));
  return results;
}

}  // namespace tessera::passes
