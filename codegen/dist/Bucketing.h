// Gradient bucketing: several all_reduces over the same axes, with the same reduction and element
// type, whose start thunks come close together in the async schedule (AsyncSchedule.h) are packed
// into one buffer and reduced with one communication call instead of one call each — fewer,
// larger messages (MPI's per-call latency paid once per bucket).
//
// The bucket plan is static (from the thunk list, so identical on every rank): consecutive
// all_reduce starts with the same key join a bucket while at most kMaxGap thunks separate them;
// a bucket closes before the done of any of its members (whose result is needed then). At run
// time a bucket is also cut when it would exceed the byte cap (DistOptions::bucketBytes) — local
// shapes are the same on every rank, so every rank cuts at the same member. A bucket's call is
// issued when its last member starts; the first done of a member waits for the whole bucket and
// writes every member's result (their result buffers are all live: each member's start thunk
// already holds its result).
//
// The reduction is the same as CollectiveCall's: every member's element is reduced in group order
// in double (either every rank gathers every rank's packed operands, or — large buckets over more
// than two ranks — each rank reduces its chunk of the packed buffer and the chunks are gathered,
// TwoPhaseReduce.h), so results are bitwise those of unbucketed all_reduces.
#pragma once

#include <memory>
#include <vector>

#include "codegen/dist/CollectiveCall.h"
#include "codegen/dist/TwoPhaseReduce.h"
#include "codegen/exec/Executable.h"

namespace tessera::codegen {

// Thunk index → bucket id (-1: not bucketed), for the Start thunks of all_reduces that share a
// bucket with at least one other.
struct BucketPlan {
  std::vector<int> bucketOf;   // per thunk
  std::vector<bool> lastOf;    // per thunk: the last member of its bucket
  int buckets = 0;
};
BucketPlan planBuckets(const Executable& exe);

class BucketRunner {
 public:
  explicit BucketRunner(RankContext& rank) : rank_(rank) {}
  ~BucketRunner();
  // A member's start: queues its operand (cutting the bucket at the byte cap) and issues the
  // bucket's call if `last`.
  Status start(int bucket, const ir::Op& op, const HostArray& operand, const HostArray& result,
               bool last);
  // A member's done: completes the call that carries it (and writes every member's result).
  Status done(const ir::Op& op);
  void poll();
  // Issues the second phase of the two-phase calls whose first phase is in flight (at a point
  // of the thunk list every rank shares: CollectiveRunner::run).
  Status startPendingPhase2();

 private:
  struct Member {
    const ir::Op* op;
    HostArray operand, result;
    int64_t offsetBytes, bytes;
  };
  struct Call {  // one communication call: a bucket, or a piece of one cut at the cap
    std::vector<Member> members;
    int64_t bytes = 0;
    comm::Communicator* comm = nullptr;
    comm::Request request;
    std::vector<uint32_t> send, recv;
    bool issued = false;
    bool twoPhase = false;         // reduced in two phases (TwoPhaseReduce.h)
    TwoPhaseAllReduce reduction;   // when twoPhase
    bool pair = false;             // a two-rank sum in halves into `recv` (PairReduce.h)
    PairAllReduce pairReduction;   // when pair
    CallTimer timer;
  };
  Status issue(Call& c);
  Status complete(Call& c);

  RankContext& rank_;
  int openBucket_ = -1;
  std::unique_ptr<Call> open_;                   // being filled
  std::vector<std::unique_ptr<Call>> inFlight_;  // issued, some member not yet done
  // Completed calls kept with their staging buffers: the next step's buckets reuse them, so a
  // warm step neither allocates nor page-faults fresh megabytes per bucket.
  std::vector<std::unique_ptr<Call>> spare_;
};

}  // namespace tessera::codegen
