// CollectiveCall: one collective op of an SPMD program (all_reduce, reduce_scatter, all_gather,
// all_to_all, collective_permute, send, recv, broadcast) run on contiguous host buffers through
// the rank's communicators — the engine's collective thunks and the interpreter's MPI rank
// runtime both use it, so the two engines mean the same thing under MPI.
//
// It runs in two halves so that the engine can overlap communication with compute: start() packs
// the operand (split dim outermost) and issues the communication; finish() waits, then unpacks
// and reduces into the result. Between the two, the operand and result buffers must stay alive
// and untouched (the async schedule keeps both live, AsyncSchedule.h).
//
// Results are the same on every rank of a group and equal to the in-process simulation
// (partition/exec/SimulatedCollectives.cpp), bit for bit: MPI_Allreduce does not promise the same
// reduction order on every rank (Open MPI picks algorithms by size and rank count, and a
// non-power-of-two or segmented algorithm combines in different orders on different ranks), so
// reductions never use it. Every rank receives every member's contribution (all_gather for
// all_reduce, all_to_all for reduce_scatter) and reduces it itself in group-position order, in
// double precision with one rounding, as the simulation does. All bytes move as 32-bit words
// (blocks are padded to a multiple of 4 bytes), so every element type moves the same way,
// including bool (1 byte) and f16/bf16 (2 bytes).
#pragma once

#include <cstdint>
#include <vector>

#include "codegen/dist/BlockReduce.h"
#include "codegen/dist/CallTimer.h"
#include "codegen/dist/PairReduce.h"
#include "codegen/dist/RankContext.h"
#include "codegen/dist/TwoPhaseReduce.h"
#include "codegen/runtime/LibraryKernels.h"
#include "ir/Op.h"

namespace tessera::codegen {

class CollectiveCall {
 public:
  CollectiveCall() = default;
  CollectiveCall(const CollectiveCall&) = delete;
  CollectiveCall& operator=(const CollectiveCall&) = delete;
  ~CollectiveCall();  // completes a call still in flight (its buffers are the caller's)

  // Checks the op's attributes against the group, packs and issues the communication. If a
  // previous call is still in flight (a run stopped between start and finish), it completes first.
  Status start(RankContext& rank, const ir::Op& op, const std::vector<HostArray>& operands,
               const std::vector<HostArray>& results);
  // Waits for the communication and writes the result.
  Status finish();
  // Lets the communication progress (MPI advances nonblocking operations only inside MPI calls).
  void poll();
  bool inFlight() const { return inFlight_; }
  // A two-phase all_reduce (TwoPhaseReduce.h) whose second phase is not issued yet; the owner
  // issues it at a point of the thunk list every rank shares (CollectiveRunner::run), or finish()
  // does.
  bool needsPhase2() const {
    return inFlight_ && ((unpack_ == Unpack::TwoPhase && twoPhase_.needsPhase2()) ||
                         (unpack_ == Unpack::Pair && pair_.needsPhase2()));
  }
  Status startPhase2();

 private:
  enum class Unpack { None, Reduce, Concat, Copy, Zero, TwoPhase, Pair };
  Status issue(const std::vector<HostArray>& operands, const std::vector<HostArray>& results);
  Status opError(const std::string& message) const;

  RankContext* rank_ = nullptr;
  const ir::Op* op_ = nullptr;
  comm::Communicator* comm_ = nullptr;
  int n_ = 1, pos_ = 0;
  bool inFlight_ = false;
  std::vector<comm::Request> requests_;
  // Staging (kept across runs: a step allocates nothing once warm).
  std::vector<uint32_t> send_, recv_;
  // What finish() does with what arrived.
  Unpack unpack_ = Unpack::None;
  HostArray result_;
  const void* copyFrom_ = nullptr;  // Copy: source
  int64_t copyBytes_ = 0;
  int64_t blockWords_ = 0;  // received block stride (32-bit words)
  int64_t elements_ = 0;    // Reduce: elements per block
  ir::ReduceOp reduceOp_ = ir::ReduceOp::Sum;
  int64_t outer_ = 1, rowBytes_ = 0;  // Concat: rows of each received piece
  TwoPhaseAllReduce twoPhase_;        // TwoPhase: the all_reduce in two phases
  PairAllReduce pair_;                // Pair: the two-rank sum in halves
  CallTimer timer_;
};

// Whether an all_reduce of `bytes` of type t with op over a group of n runs as a PairAllReduce
// (and not in two phases, useTwoPhase, which a caller checks first).
bool usePair(const DistOptions& o, int64_t bytes, int n, ir::DType t, ir::ReduceOp op);

// axis_index: this rank's row-major position over the op's axes, written to `result` (i64).
Status runAxisIndex(RankContext& rank, const ir::Op& op, const HostArray& result);

}  // namespace tessera::codegen
