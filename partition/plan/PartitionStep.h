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

// ---- Several programs on one mesh: the per-rank programs of a pipeline ----
//
// THE call for pipeline × (dp, tp, ZeRO, ep): the step functions of the pipeline ranks
// (partition/pipeline/PipelineStep.h: @pp_step<r>, or RankPrograms.h's @rank<r>), `functions[i]`
// run by the devices whose coordinate on `axis` (the pipeline axis) is i, become one local
// program per function, partitioned over the mesh's other axes by the same presets, and proven
// hang free (CollectiveOrder.h) for every device before anything runs:
//
//   auto pp = pipeline::buildPipelineStep(*model, trainOptions, {split, schedule, "mesh", "pp"});
//   auto mesh = parseMeshSpec("pp=2,dp=2");  mesh->name = "mesh";
//   PartitionStepOptions o{*mesh, presets, {{"B", micro}}};            // presets over dp/tp/ep
//   auto parts = partitionPrograms(*pp->module, {"pp_step0", "pp_step1"}, "pp", o);
//   // device d runs parts->programs[parts->programOfRank[d]].local with its shard of that
//   // function's inputs (programs[i].argShardings) — exec/InProcessExecutor.h runSpmdPrograms
//   // in process, the MPI runtime one per process.
//
// How: presets annotate each function; the sends and receives are matched per link
// (check/PointToPoint.h) and propagation runs over all functions at once with every matched
// pair as a transfer (propagateShardingsJointly), so a received tensor has the layout of the
// sent one; each function is then partitioned (its send/recv/all_reduce over `axis` kept, on
// local pieces). Errors: `axis` missing from the mesh or not of size functions.size(), a preset
// on `axis`, unmatched sends/receives, a plan that could hang — each naming the op.
struct PartitionedPrograms {
  std::vector<SpmdProgram> programs;  // programs[i]: functions[i], partitioned
  std::vector<int> programOfRank;     // device rank -> index into programs
  ShardingPlan plan;                  // one plan over every function's ops
  std::string axis;
  // The local program each device runs (for runRanks / checkCollectiveOrder).
  std::vector<const ir::Function*> rankPrograms() const;
};

StatusOr<PartitionedPrograms> partitionPrograms(ir::Module& m, const std::vector<std::string>& functions,
                                                const std::string& axis, const PartitionStepOptions& o);

}  // namespace tessera::partition
