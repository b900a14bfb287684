// PairAllReduce: the f32/f64 sum all_reduce of a group of two (every dp=2 gradient) with the
// fewest bytes moved and touched, written straight into the result buffer.
//
// The buffer is cut in two halves; position p owns half p:
//   phase 1: each position sends the peer's half of its operand to the peer (point to point,
//            straight from the operand) and receives the peer's contribution to its own half
//            into a staging buffer; it then sums its half, result[half p] = x0 + x1 (in position
//            order, rounded once: reduceBlocks' bits);
//   phase 2: each position sends its summed half to the peer straight from the result buffer
//            and receives the peer's summed half straight into the result buffer.
// Per position: N/2 bytes sent in each phase (N in all, as a whole-buffer exchange), but no
// local copy of its own operand into a gather buffer, no gathered 2N buffer to read back, half
// the additions, and no copy of a reduced buffer into the result: about half the memory traffic
// of gather-then-reduce, which is what a CPU rank's core pays for (it moves its bytes itself).
//
// As with TwoPhaseAllReduce, phase 2 must be issued at a point of the thunk list every rank
// shares (startPhase2, called by the owner), never when a poll happens to see phase 1 complete.
// The operand must stay untouched until phase 1 completes; the result is complete at finish().
// In place (result == operand) is allowed: phase 2 writes the peer's half only after phase 1's
// send of it completed.
#pragma once

#include <cstdint>
#include <vector>

#include "comm/Communicator.h"
#include "ir/Op.h"

namespace tessera::codegen {

class PairAllReduce {
 public:
  PairAllReduce() = default;
  PairAllReduce(const PairAllReduce&) = delete;
  PairAllReduce& operator=(const PairAllReduce&) = delete;
  ~PairAllReduce();  // completes whatever is in flight

  // Whether an all_reduce of type t with op over a group of n can run this way.
  static bool applies(int n, ir::DType t, ir::ReduceOp op);

  // Phase 1 for `count` elements of type t (f32 or f64), op sum, on a communicator of size 2.
  comm::Status start(comm::Communicator& c, const void* src, void* dst, int64_t count,
                     ir::DType t);
  bool needsPhase2() const { return phase_ == 1; }
  // Waits for phase 1, sums this position's half into dst, issues phase 2. *waited: seconds
  // blocked; *reduced: seconds summing.
  comm::Status startPhase2(double* waited, double* reduced);
  void poll();
  bool completed() const { return phase_ == 2 && !recv_.pending() && !send_.pending(); }
  // Phase 2 if not issued yet, then waits: dst holds the sum.
  comm::Status finish(double* waited, double* reduced);
  // Bytes this position sends in both phases.
  int64_t wireBytes() const { return wireBytes_; }

  // Elements in half 0 of `count` (half 1 has the rest).
  static int64_t firstHalf(int64_t count) { return (count + 1) / 2; }

 private:
  comm::Status waitBoth(double* waited);
  comm::Communicator* comm_ = nullptr;
  int phase_ = 0;  // 0: idle, 1: phase 1 in flight, 2: phase 2 in flight
  const char* src_ = nullptr;
  char* dst_ = nullptr;
  int64_t count_ = 0;
  ir::DType dtype_ = ir::DType::F32;
  comm::Request send_, recv_;
  std::vector<char> stage_;
  int64_t wireBytes_ = 0;
};

}  // namespace tessera::codegen
