// A module: meshes, symbols, parameters with their initial values, and functions.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/Function.h"
#include "ir/Mesh.h"

namespace tessera::ir {

// A named dimension, with what is known of it (`sym B divisible_by 8`).
struct SymbolDecl {
  std::string name;
  int64_t divisibleBy = 1;
  Location loc;
  bool operator==(const SymbolDecl&) const = default;
};

// A model parameter (weight). A function argument with the same name is bound to it when the
// caller gives no value. `init` may be absent (a graph for planning only).
struct Parameter {
  std::string name;
  TensorType type;
  std::optional<Sharding> sharding;
  std::shared_ptr<const Tensor> init;
  bool trainable = true;
  Location loc;
};

class Module {
 public:
  explicit Module(std::string name = "") : name(std::move(name)) {}
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  std::string name;
  std::vector<Mesh> meshes;
  std::vector<SymbolDecl> symbols;
  std::vector<Parameter> params;

  const std::vector<std::unique_ptr<Function>>& functions() const { return functions_; }
  Function* addFunction(std::string fname);

  const Mesh* findMesh(const std::string& meshName) const;
  // The mesh a sharding with an empty mesh name refers to: the only mesh, else null.
  const Mesh* defaultMesh() const { return meshes.size() == 1 ? &meshes[0] : nullptr; }
  const SymbolDecl* findSymbol(const std::string& sym) const;
  const Parameter* findParam(const std::string& pname) const;
  Function* findFunction(const std::string& fname) const;

 private:
  std::vector<std::unique_ptr<Function>> functions_;
};

}  // namespace tessera::ir
