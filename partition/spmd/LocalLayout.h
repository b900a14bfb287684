// Local layouts: how big a device's piece of a global tensor is under a sharding (SHARDING.md §1).
// A dim of global size D split by axes of total size n has local size ceil(D/n) when D is a
// constant (the last shards are short and padded), and the exact D/n when D is symbolic (whose
// divisibility is a fact about the symbol that the interpreter checks at run time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/Mesh.h"
#include "ir/Sharding.h"
#include "ir/Type.h"

namespace tessera::partition {

// Product of the sizes of `axes` on `mesh` (1 for none); asserts the axes exist.
int64_t axesSize(const ir::Mesh& mesh, const std::vector<std::string>& axes);
// Local size of a global dim split over `n` devices.
ir::Dim localDim(const ir::Dim& global, int64_t n);
// True when every shard has the full local size (symbolic dims count as even).
bool isEvenSplit(const ir::Dim& global, int64_t n);
// The local type of a value of global type `t` stored with sharding `s`.
ir::TensorType localType(const ir::Mesh& mesh, const ir::TensorType& t, const ir::Sharding& s);

}  // namespace tessera::partition
