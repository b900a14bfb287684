// The SPMD partitioner (SHARDING.md §4): a global function whose every value has a sharding
// becomes ONE local function — the program every rank runs — with local shapes and explicit
// collectives. Each op's factor→axes assignment comes from the sharding plan of propagation
// (partition/propagation/ShardingPlan.h) or, for hand-annotated functions, from the annotations
// through the op factor rules (planFromAnnotations). Every op then:
//   1. has each operand resharded to what its factor assignment needs (Reshard.h), keeping a
//      pending partial sum only where the op is linear in it (add/sub of equally partial values,
//      one partial operand of a mul/dot/reshape/..., the numerator of a div);
//   2. runs on local shapes (OpLowering.h: masks for padded shards, the vocab-range mask of a
//      split gather, a mean over a split dim as a local sum over the *global* count);
//   3. leaves its result partial over the axes of every split reduction factor.
// Communication already in the global function (send/recv, all_reduce, ... — a pipeline rank's
// program on a pp×dp×tp mesh) is kept as is on the local pieces, over axes that split nothing.
// Results are finally resharded to their annotated layout. The partitioner tracks the layout each
// local value actually has, so a value is only communicated when a consumer needs another layout.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/Module.h"
#include "partition/propagation/ShardingPlan.h"

namespace tessera::partition {

struct SpmdProgram {
  std::unique_ptr<ir::Module> module;  // the meshes and symbols of the global module + `local`
  ir::Function* local = nullptr;       // same name and arity as the global function
  const ir::Mesh* mesh = nullptr;      // in `module`
  // The layout each global argument is given in and each global result comes back in (the
  // executor shards inputs and assembles outputs by them).
  std::vector<ir::Sharding> argShardings;
  std::vector<ir::Sharding> resultShardings;
  std::vector<ir::TensorType> globalResultTypes;
};

// The plan implied by the annotations of `f`: every op's factor axes taken from its result
// shardings first, then its operands' (a factor that may not be split — Local, an uneven
// evenOnly factor, an axis already used by another factor — stays whole).
StatusOr<ShardingPlan> planFromAnnotations(const ir::Function& f);

// Partitions `global` (every argument and result sharded, or unannotated = replicated) by `plan`
// (null: planFromAnnotations). Errors name the op.
StatusOr<SpmdProgram> partitionSpmd(const ir::Function& global, const ShardingPlan* plan = nullptr);

}  // namespace tessera::partition
