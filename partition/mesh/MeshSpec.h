// Parsing a mesh from the command line: `--mesh dp=2,tp=2` names the axes (major to minor) and
// their sizes; the product is the rank count. Errors quote the flag text and name the bad part.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ir/Mesh.h"
#include "ir/Status.h"

namespace tessera::partition {

// Parses "dp=2,tp=2" into a mesh named `name` with the identity device order. Errors: empty
// spec, an entry without '=', an axis name that is not an identifier, an axis named twice, a
// size that is not a positive integer.
StatusOr<ir::Mesh> parseMeshSpec(std::string_view spec, std::string name = "m");

// Checks that `mesh` has exactly `ranks` devices (the mpirun -np count).
Status checkMeshRanks(const ir::Mesh& mesh, int64_t ranks);

}  // namespace tessera::partition
