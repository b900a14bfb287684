// The in-process multi-rank executor: runs every rank's program in one process, one thread per
// rank, through the reference interpreter, with collectives simulated over shared memory. It is
// the fast way to test the partitioner without MPI: the same local programs the MPI launcher will
// run, checked here against the single-device interpreter.
//
// Collectives reduce in group-position order, so a plan run twice is bitwise equal. A collective
// that does not complete (a rank issued another one, or stopped) ends with an error naming the
// rank and the collective after `timeout`; a rank that fails makes the others stop at their next
// collective instead of waiting.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "ir/Function.h"
#include "ir/Mesh.h"
#include "partition/spmd/SpmdPartitioner.h"

namespace tessera::partition {

struct ExecutorOptions {
  std::chrono::milliseconds timeout{30000};
};

// Runs programs[r] with inputs[r] as rank r of `mesh` (programs.size() == mesh.numDevices()).
// Returns each rank's outputs, or the first rank's error (lowest rank first).
StatusOr<std::vector<std::vector<ir::Tensor>>> runRanks(
    const ir::Mesh& mesh, const std::vector<const ir::Function*>& programs,
    const std::vector<std::vector<ir::Tensor>>& inputs, ExecutorOptions options = {});

// Runs an SPMD program on global inputs (one per argument of the global function): each rank gets
// its shard, and the global results are assembled from the ranks' pieces.
StatusOr<std::vector<ir::Tensor>> runSpmd(const SpmdProgram& program,
                                          const std::vector<ir::Tensor>& globalInputs,
                                          ExecutorOptions options = {});

// Runs several SPMD programs on one mesh (a pipeline's ranks partitioned further,
// partition/plan/PartitionStep.h partitionPrograms): programs[i] on the devices whose coordinate
// on `axis` is i, with globalInputs[i] sharded as programs[i].argShardings says. Returns each
// program's global outputs. The programs must share one mesh (by name and axes).
StatusOr<std::vector<std::vector<ir::Tensor>>> runSpmdPrograms(
    const std::vector<SpmdProgram>& programs, const std::string& axis,
    const std::vector<std::vector<ir::Tensor>>& globalInputs, ExecutorOptions options = {});

}  // namespace tessera::partition
