// Resharding (SHARDING.md §4 table): turns a local value stored with one sharding into the same
// global tensor stored with another, one step per kind of difference:
//   partial sum/max  -> reduce_scatter when the target splits a dim over that axis, else all_reduce
//   split on d, d'   -> all_to_all when one axis moves from one dim to another (both even)
//   split -> whole   -> all_gather (then a slice that drops the padding of an uneven dim)
//   whole -> split   -> the local slice (axis_index), no communication
//   whole -> partial -> keep the value on position 0 of the group, zeros elsewhere
// Uneven dims are gathered whole before they are re-split, so padding never lands mid-tensor.
#pragma once

#include "ir/Sharding.h"
#include "partition/spmd/LocalBuilder.h"

namespace tessera::partition {

// `x` is the local value of a global tensor of type `global` stored as `from`; returns the local
// value stored as `to` (x itself when they agree).
StatusOr<ir::Value*> reshard(LocalBuilder& b, ir::Value* x, const ir::TensorType& global,
                             const ir::Sharding& from, const ir::Sharding& to);

// `s` normalized for comparison: one DimSharding per dim with axes only, no open dims/priority.
ir::Sharding layoutOf(const ir::Sharding& s, int rank);

}  // namespace tessera::partition
