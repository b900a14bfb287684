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

}  // namespace tessera::partition
