// MPI start-up, the world communicator, local rank and job abort (see MpiRuntime.h).
#include "comm/mpi/MpiRuntime.h"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include "comm/LocalRank.h"
#include "comm/Timeout.h"
#include "comm/mpi/MpiCommunicator.h"

namespace tessera::comm::mpi {

bool isInitialized() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

Status initialize(int* argc, char*** argv) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (fin) return Status::error("MPI: cannot initialize after MPI_Finalize");
  if (init) return Status::ok();
  int provided = 0;
  int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  if (rc != MPI_SUCCESS) return Status::error("MPI_Init_thread failed (code " +
                                              std::to_string(rc) + ")");
  // Errors on the world communicator come back as codes too, so a failed call is reported with
  // its place instead of MPI's default abort.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  return Status::ok();
}

Status finalize() {
  if (!isInitialized()) return Status::ok();
  int rc = MPI_Finalize();
  if (rc != MPI_SUCCESS) return mpiError("MPI_Finalize", rc);
  return Status::ok();
}

StatusOr<std::unique_ptr<Communicator>> createWorld() {
  auto timeout = timeoutSecondsFromEnvironment(DeviceKind::Cpu);
  if (!timeout.isOk()) return timeout.status();
  TESSERA_COMM_TRY(initialize(nullptr, nullptr));
  MPI_Comm dup = MPI_COMM_NULL;
  int rc = MPI_Comm_dup(MPI_COMM_WORLD, &dup);
  if (rc != MPI_SUCCESS) return mpiError("MPI_Comm_dup", rc);
  return MpiCommunicator::adopt(dup, "world", *timeout);
}

StatusOr<int> localRank() {
  auto env = localRankFromEnv([](const char* v) { return std::getenv(v); });
  if (!env.isOk()) return env.status();
  if (env->has_value()) return **env;
  if (!isInitialized()) return Status::error("local rank: MPI is not initialized");
  MPI_Comm node = MPI_COMM_NULL;
  int rc = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  if (rc != MPI_SUCCESS) return mpiError("MPI_Comm_split_type", rc);
  int r = 0;
  MPI_Comm_rank(node, &r);
  MPI_Comm_free(&node);
  return r;
}

void abortJob(const std::string& message, int exitCode) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
  if (isInitialized()) MPI_Abort(MPI_COMM_WORLD, exitCode);
  std::_Exit(exitCode);
}

}  // namespace tessera::comm::mpi
