// TwoPhaseAllReduce: the deterministic all_reduce at ring cost. The buffer's elements are cut into
// n chunks of equal size (the last ones padded), chunk c owned by group position c:
//   phase 1: all_to_all — position p sends its chunk c to position c, so each owner receives the
//            n contributions to its chunk, and sums them in position order 0..n-1 (reduceBlocks:
//            in double, one rounding — exactly what gather-then-reduce computes per element);
//   phase 2: all_gather of the reduced chunks — every position gets the whole result.
// Each position sends (n-1)/n·N bytes in each phase, 2(n-1)/n·N in all, where gathering every
// member's whole buffer sent (n-1)·N; the per-element arithmetic is the same, so the bits are too.
//
// Phase 2 is a collective issued after phase 1 completes, and MPI matches collectives on a
// communicator by issue order: every rank must issue it at the same point of its collective
// sequence. The owner (CollectiveRunner.h) therefore calls startPhase2() at fixed points of the
// thunk list — before the next collective thunk after the start, or at the done — never when a
// test() happens to see phase 1 complete.
//
// Small buffers and groups of two keep the one-call gather (DistOptions::twoPhaseMinBytes,
// twoPhaseMinRanks; useTwoPhase): two latencies cost more than the bytes saved, at n = 2 both forms
// move N bytes per rank, and the results are bitwise the same either way.
#pragma once

#include <cstdint>
#include <vector>

#include "comm/Communicator.h"
#include "ir/Op.h"

namespace tessera::codegen {

class TwoPhaseAllReduce {
 public:
  TwoPhaseAllReduce() = default;
  TwoPhaseAllReduce(const TwoPhaseAllReduce&) = delete;
  TwoPhaseAllReduce& operator=(const TwoPhaseAllReduce&) = delete;
  ~TwoPhaseAllReduce();  // completes whatever is in flight (the buffers are its own)

  // Phase 1 for `count` contiguous elements of type t at `src` (read until phase 1 completes when
  // it is sent in place; `src` must then stay untouched until startPhase2/finish).
  comm::Status start(comm::Communicator& c, const void* src, int64_t count, ir::DType t,
                     ir::ReduceOp op);
  // Whether phase 1 was issued and phase 2 was not yet.
  bool needsPhase2() const { return phase_ == 1; }
  // Whether phase 2 was issued and has completed (seen by poll) — the result is ready.
  bool completed() const { return phase_ == 2 && !request_.pending(); }
  // Waits for phase 1, reduces this position's chunk, issues phase 2. *waited: seconds blocked.
  comm::Status startPhase2(double* waited);
  // Lets the communication in flight progress.
  void poll();
  // Phase 2 if not issued yet, then waits: the result's `count` elements are at result().
  comm::Status finish(double* waited);
  const void* result() const { return result_; }
  // Bytes this position sends in both phases (for DistStats).
  int64_t wireBytes() const { return wireBytes_; }

  // The chunk size in elements for `count` elements over n positions: ceil(count / n), rounded
  // up so that a chunk is a whole number of 32-bit words.
  static int64_t chunkElements(int64_t count, int n, ir::DType t);

 private:
  comm::Communicator* comm_ = nullptr;
  int phase_ = 0;  // 0: idle, 1: phase 1 in flight, 2: phase 2 in flight
  int64_t count_ = 0, chunk_ = 0, chunkWords_ = 0;
  ir::DType dtype_ = ir::DType::F32;
  ir::ReduceOp op_ = ir::ReduceOp::Sum;
  comm::Request request_;
  std::vector<uint32_t> send1_, recv1_, send2_, recv2_;
  const void* result_ = nullptr;
  int64_t wireBytes_ = 0;
};

struct DistOptions;
// Whether an all_reduce of `bytes` over a group of n uses the two-phase form.
bool useTwoPhase(const DistOptions& o, int64_t bytes, int n);

}  // namespace tessera::codegen
