// The local rank (index of this process among the ranks on its node), from the launcher's
// environment.
//
// GPU ranks pick their device by local rank before any NCCL call. Launchers export it: Open MPI as
// OMPI_COMM_WORLD_LOCAL_RANK, Slurm as SLURM_LOCALID. When neither is set the MPI backend asks MPI
// (MPI_Comm_split_type over shared memory; see mpi/MpiRuntime.h).
#pragma once

#include <functional>
#include <optional>

#include "comm/Status.h"

namespace tessera::comm {

// The first of OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID that is set, read through `getenv` (tests
// pass a fake); nullopt if none is. A set variable that is not a non-negative integer is an error
// naming it.
StatusOr<std::optional<int>> localRankFromEnv(
    const std::function<const char*(const char*)>& getenv);

}  // namespace tessera::comm
