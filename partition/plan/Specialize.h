// Fixing symbols to constants before partitioning. A training step is symbolic in its batch B
// (and sequence S); splitting a symbolic dim over a mesh axis needs `sym B divisible_by n`, since
// a local size must be an exact B/n. A run with a concrete batch that the axis does not divide
// (5 sequences over dp=2) specializes the step to that batch first: every dim becomes a constant,
// and the partitioner splits it unevenly (ceil division, padded shards, masked reductions —
// SHARDING.md §1) like any other constant dim.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ir/Function.h"

namespace tessera::partition {

// Replaces every listed symbol by its value in `f`, in place: argument and result types and
// DimList attributes (slice bounds, ...). Errors: a value that is not positive, or that breaks a
// `divisible_by` fact of the module's symbol declaration.
Status specializeSymbols(ir::Function& f, const std::map<std::string, int64_t>& values);

}  // namespace tessera::partition
