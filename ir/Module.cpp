// Lookups by name in a module.
#include "ir/Module.h"

namespace tessera::ir {

Function* Module::addFunction(std::string fname) {
  functions_.push_back(std::make_unique<Function>(this, std::move(fname)));
  return functions_.back().get();
}

const Mesh* Module::findMesh(const std::string& meshName) const {
  for (const Mesh& m : meshes)
    if (m.name == meshName) return &m;
  return nullptr;
}

const SymbolDecl* Module::findSymbol(const std::string& sym) const {
  for (const SymbolDecl& s : symbols)
    if (s.name == sym) return &s;
  return nullptr;
}

const Parameter* Module::findParam(const std::string& pname) const {
  for (const Parameter& p : params)
    if (p.name == pname) return &p;
  return nullptr;
}

Function* Module::findFunction(const std::string& fname) const {
  for (const auto& f : functions_)
    if (f->name() == fname) return f.get();
  return nullptr;
}

}  // namespace tessera::ir
