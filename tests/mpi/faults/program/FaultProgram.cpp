// A deliberately broken job for the fault tests (run under mpirun by FaultHarnessTest): one rank
// misbehaves before a collective, the others wait in it.
//
//   timeout     rank 1 sleeps instead of joining the world all_reduce (the others time out)
//   timeout-tp  on a dp=2 x tp=2 mesh, rank 3 never joins its tp all_reduce (rank 2 times out on
//               'tp'); ranks 0 and 1 finish theirs and then idle until the job is ended
//   exit        rank 1 calls _exit(1) before the all_reduce
//   kill        rank 1 raises SIGKILL before the all_reduce
//   ok          every rank joins; the job succeeds (the harness's control case)
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>

#include "comm/Mesh.h"
#include "comm/mpi/MpiRuntime.h"

using namespace tessera::comm;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s timeout|timeout-tp|exit|kill|ok\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  auto world = mpi::createWorld();
  if (!world.isOk()) mpi::abortJob(world.status().message(), 2);
  Communicator& w = **world;
  double x = 1, sum = 0;

  if (mode == "timeout-tp") {
    auto tp = splitForAxes(w, MeshDesc{{{"dp", 2}, {"tp", 2}}}, {"tp"});
    if (!tp.isOk()) mpi::abortJob(tp.status().message(), 2);
    if (w.rank() != 3) {
      Status s = (*tp)->allReduce(&x, &sum, 1, DataType::F64, ReduceOp::Sum);
      if (!s.isOk()) mpi::abortJob(s.message(), 2);
    }
    sleep(120);  // ended by rank 2's abort
    return 0;
  }
  if (w.rank() == 1) {
    if (mode == "timeout") sleep(120);
    if (mode == "exit") _exit(1);
    if (mode == "kill") raise(SIGKILL);
  }
  Status s = w.allReduce(&x, &sum, 1, DataType::F64, ReduceOp::Sum);
  if (!s.isOk()) mpi::abortJob(s.message(), 2);
  if (mode == "ok" && w.rank() == 0) std::printf("fault program: sum %g\n", sum);
  world->reset();
  (void)mpi::finalize();
  return 0;
}
