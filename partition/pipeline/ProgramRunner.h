// Running the per-rank pipeline programs (RankPrograms.h) in process: one thread per rank, each
// through the reference interpreter with a rank runtime whose send and recv go over simulated
// channels (Channels.h). This is how the programs a multi-process runtime will execute are
// checked against the schedule-driven trainer and the single-device step before MPI runs them.
// Only point-to-point ops are supported; a program with other collectives is an error naming
// the op (the in-process SPMD executor, partition/exec/, runs those).
#pragma once

#include <chrono>
#include <vector>

#include "ir/Function.h"
#include "ir/Mesh.h"

namespace tessera::partition::pipeline {

// programs[r] runs as rank r of `mesh` with inputs[r]. Returns each rank's outputs or the first
// rank's error (a rank stopped by another's failure reports that failure).
StatusOr<std::vector<std::vector<ir::Tensor>>> runPipelinePrograms(
    const ir::Mesh& mesh, const std::vector<const ir::Function*>& programs,
    const std::vector<std::vector<ir::Tensor>>& inputs,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));

}  // namespace tessera::partition::pipeline
