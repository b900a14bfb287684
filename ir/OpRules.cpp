// Shared helpers of the infer and eval contexts.
#include "ir/OpRules.h"

#include "ir/Module.h"

namespace tessera::ir {

Status InferContext::error(const std::string& message) const {
  return Status::error(op.loc(), std::string(op.mnemonic()) + ": " + message);
}

StatusOr<const Mesh*> InferContext::mesh() const {
  if (!module) return error("is not in a module, so it has no mesh");
  if (const AttrValue* ref = op.attr("mesh")) {
    const std::string& name = std::get<MeshRef>(*ref).name;
    if (const Mesh* m = module->findMesh(name)) return m;
    return error("unknown mesh @" + name);
  }
  if (const Mesh* m = module->defaultMesh()) return m;
  return error(module->meshes.empty() ? "the module declares no mesh"
                                      : "the module has several meshes; name one with mesh=@...");
}

StatusOr<TensorType> InferContext::requireDeclared(int i) const {
  if (i < static_cast<int>(declared.size()) && declared[i]) return *declared[i];
  return error("needs a declared result type");
}

Status EvalContext::error(const std::string& message) const {
  return Status::error(op.loc(), std::string(op.mnemonic()) + ": " + message);
}

}  // namespace tessera::ir
