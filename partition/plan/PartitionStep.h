// From a global training step to the program every rank runs, in one call — the path the launcher
// (`tessera plan`, `tessera train -np N`) and the distributed equivalence tests share:
//   preset annotations (partition/presets/, never over the IR's own annotations)
//   → sharding propagation (partition/propagation/) → SPMD partitioning (partition/spmd/).
//
//   auto step = passes::buildTrainStep(*m, trainOptions);          // @train_step, global
//   auto mesh = parseMeshSpec("dp=2,tp=2");
//   auto d = partitionStep(*m, step->function, {*mesh, presets, {{"B", 8}}});
//   // d->program.local: the per-rank program; d->program.argShardings: how to shard each input
// A concrete batch the mesh does not divide (5 over dp=2): specializeSymbols (Specialize.h) the
// step to it first; the split is then uneven, with padded shards and masked reductions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/Mesh.h"
#include "ir/Module.h"
#include "partition/presets/Presets.h"
#include "partition/propagation/ShardingPlan.h"
#include "partition/spmd/SpmdPartitioner.h"

namespace tessera::partition {

struct PartitionStepOptions {
  ir::Mesh mesh;          // added to the module's meshes if absent (by name)
  PresetOptions presets;  // all off: only the IR's own annotations (none: every rank replicates)
  // Symbol values for the cost of propagation choices and the large-replication warnings.
  std::map<std::string, int64_t> symbolValues;
};

struct PartitionedStep {
  SpmdProgram program;
  ShardingPlan plan;  // decisions and warnings (forced replications, with locations)
};

// Annotates, propagates and partitions function `step` of `m` in place (its values get shardings).
// Errors: a preset axis missing from the mesh, an annotation that does not fit, an op the
// partitioner cannot lower — each naming the op or value and its location.
StatusOr<PartitionedStep> partitionStep(ir::Module& m, const std::string& step,
                                        const PartitionStepOptions& o);

}  // namespace tessera::partition
