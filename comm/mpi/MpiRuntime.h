// The MPI backend's entry points: MPI start-up and shut-down, the world communicator, the local
// rank and ending the job.
//
// MPI is initialized once per process (MPI_Init_thread, funneled: only the thread that initialized
// calls MPI). createWorld() duplicates MPI_COMM_WORLD so that Tessera's traffic never matches a
// user's messages; per-axis communicators come from splitForAxes(world, mesh, axes) (Mesh.h).
#pragma once

#include <memory>
#include <string>

#include "comm/Communicator.h"
#include "comm/Status.h"

namespace tessera::comm::mpi {

// Initializes MPI unless it already is (argc/argv may be null). Safe to call more than once.
Status initialize(int* argc, char*** argv);
// Finalizes MPI if initialized and not yet finalized. Communicators must be destroyed first.
Status finalize();
bool isInitialized();

// The world communicator (initializes MPI if needed). Timeout: TESSERA_COLLECTIVE_TIMEOUT_S, else
// the CPU default (Timeout.h); a malformed variable is an error.
StatusOr<std::unique_ptr<Communicator>> createWorld();

// Local rank: OMPI_COMM_WORLD_LOCAL_RANK, else SLURM_LOCALID, else this rank's index among the ranks
// sharing its node (MPI_Comm_split_type). MPI must be initialized.
StatusOr<int> localRank();

// Prints `message` on stderr and ends every rank of the job (MPI_Abort on MPI_COMM_WORLD).
[[noreturn]] void abortJob(const std::string& message, int exitCode);

}  // namespace tessera::comm::mpi
