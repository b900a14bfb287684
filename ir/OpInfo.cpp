// Builds the op table from OpKinds.def.
#include "ir/OpInfo.h"

namespace tessera::ir {

int OpInfo::attrIndex(std::string_view name) const {
  for (size_t i = 0; i < attrs.size(); ++i)
    if (name == attrs[i].name) return static_cast<int>(i);
  return -1;
}

const std::vector<OpInfo>& allOps() {
  static const std::vector<OpInfo> table = {
#define ATTR(name, kind, enumDef, required) AttrSpec{name, AttrKind::kind, enumDef, required},
#define OP(id, mnemonic, nOperands, nResults, traits, infer, eval, ...) \
  OpInfo{OpKind::id, mnemonic, nOperands, nResults, traits, &infer, &eval, {__VA_ARGS__}},
#include "ir/OpKinds.def"
  };
  return table;
}

const OpInfo& opInfo(OpKind kind) { return allOps()[static_cast<size_t>(kind)]; }

std::optional<OpKind> opKindFromMnemonic(std::string_view mnemonic) {
  for (const OpInfo& info : allOps())
    if (mnemonic == info.mnemonic) return info.kind;
  return std::nullopt;
}

}  // namespace tessera::ir
