// The runtime side of collective thunks (see CollectiveRunner.h).
#include "codegen/dist/CollectiveRunner.h"

#include <algorithm>

namespace tessera::codegen {

CollectiveRunner::CollectiveRunner(RankContext& rank, const Executable& exe)
    : rank_(rank), exe_(exe), role_(exe.thunks.size(), Role::Single) {
  std::map<int, std::vector<size_t>> byOp;
  for (size_t i = 0; i < exe.thunks.size(); ++i)
    if (exe.thunks[i].kind == ThunkKind::Collective) byOp[exe.thunks[i].op].push_back(i);
  for (const auto& [op, thunks] : byOp)
    if (thunks.size() == 2) {
      role_[thunks[0]] = Role::Start;
      role_[thunks[1]] = Role::Done;
    }
  if (rank.options.bucketBytes > 0) {
    buckets_ = planBuckets(exe);
    if (buckets_.buckets > 0) bucketRunner_ = std::make_unique<BucketRunner>(rank);
  }
}

CollectiveRunner::~CollectiveRunner() {
  for (auto& [op, call] : calls_) (void)call->finish();
}

void CollectiveRunner::poll() {
  for (CollectiveCall* c : inFlight_) c->poll();
  if (bucketRunner_) bucketRunner_->poll();
}

Status CollectiveRunner::run(size_t thunk, const std::vector<HostArray>& operands,
                             const std::vector<HostArray>& results) {
  const Thunk& t = exe_.thunks[thunk];
  const ir::Op& op = *exe_.function->ops()[t.op];
  // The second phases of two-phase all_reduces in flight (TwoPhaseReduce.h) are issued here, at
  // a collective thunk — a point every rank reaches in the same order, so every rank issues them
  // in the same sequence as its other collectives — never when a poll happens to see the first
  // phase complete (MPI matches collectives on a communicator by issue order).
  for (CollectiveCall* c : inFlight_) TRY(c->startPhase2());
  if (bucketRunner_) TRY(bucketRunner_->startPendingPhase2());
  if (op.kind() == ir::OpKind::AxisIndex) {
    if (results.size() != 1)
      return Status::error(op.loc(), "axis_index: the thunk has no result buffer");
    return runAxisIndex(rank_, op, results[0]);
  }
  if (bucketRunner_) {
    int b = buckets_.bucketOf[thunk];
    if (b >= 0) {
      if (operands.size() != 1 || results.size() != 1)
        return Status::error(op.loc(), "all_reduce: the thunk has no operand or result buffer");
      bucketed_.insert(t.op);
      return bucketRunner_->start(b, op, operands[0], results[0], buckets_.lastOf[thunk]);
    }
    if (role_[thunk] == Role::Done && bucketed_.erase(t.op)) return bucketRunner_->done(op);
  }
  std::unique_ptr<CollectiveCall>& call = calls_[t.op];
  if (!call) call = std::make_unique<CollectiveCall>();
  Role role = role_[thunk];
  if (role != Role::Done) {
    inFlight_.erase(std::remove(inFlight_.begin(), inFlight_.end(), call.get()), inFlight_.end());
    TRY(call->start(rank_, op, operands, results));
    inFlight_.push_back(call.get());
  }
  if (role == Role::Start) return Status::ok();
  inFlight_.erase(std::remove(inFlight_.begin(), inFlight_.end(), call.get()), inFlight_.end());
  return call->finish();
}

}  // namespace tessera::codegen
