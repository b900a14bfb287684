// CollectiveRunner: how the CPU runtime (codegen/runtime/CpuRuntime.h) runs an Executable's
// collective thunks on one rank of a mesh. A collective op has one thunk (blocking: start and
// finish in place) or two (the async schedule's start and done, AsyncSchedule.h: the first thunk
// of the op starts it, the second finishes it); axis_index writes the rank's position.
//
// Between thunks the runtime calls poll(), which lets in-flight communication progress: MPI
// advances nonblocking operations only inside MPI calls, so without it the transfer of a large
// gradient would wait for the done thunk and nothing would overlap.
//
// all_reduce starts that come close together share one call when DistOptions::bucketBytes > 0
// (Bucketing.h). A large all_reduce over more than two ranks runs in two phases
// (TwoPhaseReduce.h); the second is issued at the next collective thunk (or the done).
//
// Every rank runs the same thunk list, so every rank starts the same collectives in the same
// order on each communicator — what MPI needs to match nonblocking collectives.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "codegen/dist/Bucketing.h"
#include "codegen/dist/CollectiveCall.h"
#include "codegen/exec/Executable.h"

namespace tessera::codegen {

class CollectiveRunner {
 public:
  CollectiveRunner(RankContext& rank, const Executable& exe);
  ~CollectiveRunner();

  // Runs collective thunk `thunk` on its buffers: the thunk's read views, then its written ones.
  Status run(size_t thunk, const std::vector<HostArray>& operands,
             const std::vector<HostArray>& results);
  // Progress for the communication in flight; cheap when there is none.
  void poll();

 private:
  enum class Role { Single, Start, Done };
  RankContext& rank_;
  const Executable& exe_;
  std::vector<Role> role_;  // per thunk (Single for non-collective thunks)
  std::map<int, std::unique_ptr<CollectiveCall>> calls_;  // per op index
  std::vector<CollectiveCall*> inFlight_;
  // Gradient bucketing (Bucketing.h), when the rank's options ask for it.
  BucketPlan buckets_;
  std::unique_ptr<BucketRunner> bucketRunner_;
  std::set<int> bucketed_;  // ops whose start went into a bucket this run
};

}  // namespace tessera::codegen
