// OpKind and OpInfo: the op table of OpKinds.def as C++ values.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "ir/Attr.h"
#include "ir/OpRules.h"

namespace tessera::ir {

enum class OpKind : uint16_t {
#define OP(id, ...) id,
#include "ir/OpKinds.def"
};

inline constexpr unsigned kPure = 0;
inline constexpr unsigned kSideEffect = 1;  // must not be removed even if its results are unused
inline constexpr unsigned kCollective = 2;  // communicates between devices

struct OpInfo {
  OpKind kind;
  const char* mnemonic;
  int numOperands;  // -1: variadic, at least one
  int numResults;
  unsigned traits;
  InferFn infer;
  EvalFn eval;
  std::vector<AttrSpec> attrs;

  int attrIndex(std::string_view name) const;  // -1 if the op has no such attribute
  bool isCollective() const { return traits & kCollective; }
  bool hasSideEffect() const { return traits & (kSideEffect | kCollective); }
};

const OpInfo& opInfo(OpKind kind);
const std::vector<OpInfo>& allOps();
std::optional<OpKind> opKindFromMnemonic(std::string_view mnemonic);

}  // namespace tessera::ir
