// Sharding: how a tensor is laid out over a mesh (see ../shared/SHARDING.md).
//
// For each tensor dimension, an ordered list of mesh axes (major to minor) that split it — empty
// means not split — or "open" (`?`), which propagation may fill. Axes that split no dimension are
// replicated, unless listed as partial: the device then holds one term of a pending sum or max.
// A dimension may carry a priority (lower = stronger) that propagation respects.
//
// Text form, printed inline after a value's type:
//   {dp, -}            dim 0 split over dp, dim 1 not split
//   {(dp,tp), ?}       dim 0 split over dp then tp, dim 1 open
//   {dp:p1, -}         dim 0 split over dp with priority 1
//   {-, -} partial{tp:sum}
//   @m2{dp, -}         naming the mesh when a module has more than one
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/Mesh.h"

namespace tessera::ir {

enum class PartialKind { Sum, Max };
const char* partialKindName(PartialKind k);

struct DimSharding {
  std::vector<std::string> axes;  // major to minor; empty = not split
  bool open = false;              // `?`: not decided yet (axes must then be empty)
  std::optional<int> priority;
  bool operator==(const DimSharding&) const = default;
};

class Sharding {
 public:
  std::string mesh;  // empty: the module's only mesh
  std::vector<DimSharding> dims;
  std::vector<std::pair<std::string, PartialKind>> partial;

  static Sharding replicated(int rank);
  static Sharding open(int rank);
  // Every mesh axis used by a dim or as partial, in order of appearance.
  std::vector<std::string> usedAxes() const;
  bool isFullyReplicated() const;
  std::string str() const;
  // Checks against the mesh: rank matches, axes exist, each axis used at most once.
  Status check(const Mesh& m, int rank, const Location& loc) const;
  bool operator==(const Sharding&) const = default;
};

}  // namespace tessera::ir
