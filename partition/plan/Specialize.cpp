// Symbol specialization of a function, in place; see Specialize.h.
#include "partition/plan/Specialize.h"

#include <variant>
#include <vector>

#include "ir/Module.h"
#include "passes/training/FunctionInliner.h"

namespace tessera::partition {

namespace {

ir::Dim bind(ir::Dim d, const std::map<std::string, int64_t>& values) {
  for (const auto& [sym, v] : values) d = passes::substitute(d, passes::DimSubstitution{sym, ir::Dim(v)});
  return d;
}

ir::TensorType bind(ir::TensorType t, const std::map<std::string, int64_t>& values) {
  for (ir::Dim& d : t.shape) d = bind(d, values);
  return t;
}

}  // namespace

Status specializeSymbols(ir::Function& f, const std::map<std::string, int64_t>& values) {
  const ir::Module* m = f.module();
  for (const auto& [sym, v] : values) {
    if (v <= 0)
      return Status::error(f.loc, "@" + f.name() + ": symbol " + sym + " must be positive, got " +
                                      std::to_string(v));
    const ir::SymbolDecl* decl = m ? m->findSymbol(sym) : nullptr;
    if (decl && v % decl->divisibleBy != 0)
      return Status::error(f.loc, "@" + f.name() + ": symbol " + sym + " = " + std::to_string(v) +
                                      " breaks its declaration `sym " + sym + " divisible_by " +
                                      std::to_string(decl->divisibleBy) + "`");
  }
  for (int i = 0; i < f.numArguments(); ++i) f.argument(i)->setType(bind(f.argument(i)->type(), values));
  for (const auto& op : f.ops()) {
    for (int r = 0; r < op->numResults(); ++r) op->result(r)->setType(bind(op->result(r)->type(), values));
    const auto& specs = op->info().attrs;
    for (size_t a = 0; a < specs.size(); ++a) {
      const auto& slot = op->attrSlot(static_cast<int>(a));
      if (!slot || !std::holds_alternative<std::vector<ir::Dim>>(*slot)) continue;
      std::vector<ir::Dim> dims = std::get<std::vector<ir::Dim>>(*slot);
      for (ir::Dim& d : dims) d = bind(d, values);
      TRY(op->setAttr(specs[a].name, dims));
    }
  }
  return Status::ok();
}

}  // namespace tessera::partition
