// Bucket plan and bucketed all_reduce calls (see Bucketing.h).
#include "codegen/dist/Bucketing.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

namespace tessera::codegen {

namespace {

// Starts further apart than this many thunks are not "close together": the earlier one would wait
// too long for the bucket to fill.
constexpr int kMaxGap = 32;

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

BucketPlan planBuckets(const Executable& exe) {
  const int n = static_cast<int>(exe.thunks.size());
  BucketPlan plan;
  plan.bucketOf.assign(n, -1);
  plan.lastOf.assign(n, false);
  // An op's first collective thunk starts it, the second (if any) finishes it.
  std::map<int, int> seen;
  using Key = std::tuple<std::vector<std::string>, int, int>;  // axes, reduce op, dtype
  struct Open {
    Key key;
    std::vector<int> members;
    std::set<int> ops;
  } open;
  auto close = [&] {
    if (open.members.size() >= 2) {
      for (int m : open.members) plan.bucketOf[m] = plan.buckets;
      plan.lastOf[open.members.back()] = true;
      ++plan.buckets;
    }
    open = Open{};
  };
  std::map<int, int> thunksOfOp;
  for (const Thunk& t : exe.thunks)
    if (t.kind == ThunkKind::Collective) ++thunksOfOp[t.op];
  for (int i = 0; i < n; ++i) {
    const Thunk& t = exe.thunks[i];
    if (t.kind != ThunkKind::Collective) continue;
    bool isDone = seen[t.op]++ > 0;
    if (isDone) {
      if (open.ops.count(t.op)) close();
      continue;
    }
    const ir::Op& op = *exe.function->ops()[t.op];
    if (op.kind() != ir::OpKind::AllReduce || thunksOfOp[t.op] != 2 || t.views.empty()) continue;
    Key key{op.attrAs<ir::AxisList>("axes").axes,
            static_cast<int>(op.enumAttr("op", ir::ReduceOp::Sum)),
            static_cast<int>(exe.buffers[t.views[0].buffer].dtype)};
    if (open.members.empty() || key != open.key || i - open.members.back() > kMaxGap) {
      close();
      open.key = key;
    }
    open.members.push_back(i);
    open.ops.insert(t.op);
  }
  close();
  return plan;
}

BucketRunner::~BucketRunner() {
  if (open_ && !open_->members.empty()) (void)issue(*open_);
  if (open_ && open_->issued) inFlight_.push_back(std::move(open_));
  for (auto& c : inFlight_)
    if (c->request.pending()) (void)c->comm->wait(&c->request);
}

Status BucketRunner::start(int bucket, const ir::Op& op, const HostArray& operand,
                           const HostArray& result, bool last) {
  StatusOr<comm::Communicator*> comm = rank_.communicator(op.attrAs<ir::AxisList>("axes").axes);
  if (!comm.isOk())
    return Status::error(op.loc(), std::string(op.mnemonic()) + ": " + comm.status().message());
  int64_t bytes = ir::numElementsOf(operand.shape) * ir::dtypeBytes(operand.dtype);
  auto flush = [&]() -> Status {
    Status s = issue(*open_);
    inFlight_.push_back(std::move(open_));
    return s;
  };
  // A bucket left open (cannot happen with a consistent plan) or full: send what it has.
  if (open_ && (openBucket_ != bucket ||
                (open_->bytes + bytes > rank_.options.bucketBytes && !open_->members.empty())))
    TRY(flush());
  if (!open_) {
    if (spare_.empty()) {
      open_ = std::make_unique<Call>();
    } else {  // a completed call: its buffers keep their capacity
      open_ = std::move(spare_.back());
      spare_.pop_back();
      open_->members.clear();
      open_->bytes = 0;
      open_->issued = open_->twoPhase = open_->pair = false;
    }
    open_->comm = *comm;
    openBucket_ = bucket;
  }
  open_->members.push_back(Member{&op, operand, result, open_->bytes, bytes});
  open_->bytes += bytes;
  if (last) TRY(flush());
  return Status::ok();
}

Status BucketRunner::issue(Call& c) {
  Clock::time_point t0 = Clock::now();
  int64_t w = (c.bytes + 3) / 4;
  int n = c.comm->size();
  // Members share one element type and reduction (the plan's key), so the packed buffer is one
  // array of that type.
  const ir::Op& first = *c.members.front().op;
  const ir::DType dtype = c.members.front().operand.dtype;
  const ir::ReduceOp reduceOp = first.enumAttr("op", ir::ReduceOp::Sum);
  c.twoPhase = useTwoPhase(rank_.options, c.bytes, n);
  c.pair = !c.twoPhase && usePair(rank_.options, c.bytes, n, dtype, reduceOp);
  c.send.resize(std::max<int64_t>(w, 1));
  c.send.back() = 0;  // a last partial word's padding (the members overwrite the rest)
  if (c.pair) c.recv.resize(std::max<int64_t>(w, 1));  // the packed result
  else if (!c.twoPhase) c.recv.resize(std::max<int64_t>(n * w, 1));
  char* dst = reinterpret_cast<char*>(c.send.data());
  for (const Member& m : c.members)
    if (m.bytes > 0) std::memcpy(dst + m.offsetBytes, m.operand.data, m.bytes);
  const int64_t count = c.bytes / ir::dtypeBytes(dtype);
  comm::Status s =
      c.twoPhase ? c.reduction.start(*c.comm, c.send.data(), count, dtype, reduceOp)
      : c.pair   ? c.pairReduction.start(*c.comm, c.send.data(), c.recv.data(), count, dtype)
                 : c.comm->startAllGather(c.send.data(), c.recv.data(), w, comm::DataType::I32,
                                          &c.request);
  c.issued = true;
  c.timer.issued();
  DistStats& st = rank_.stats();
  st.calls += 1;
  st.collectives += static_cast<int64_t>(c.members.size());
  st.bytes += c.bytes;
  st.issueSeconds += since(t0);
  if (!s.isOk()) {
    const ir::Op& op = *c.members.front().op;
    return Status::error(op.loc(), std::string(op.mnemonic()) + " (bucket of " +
                                       std::to_string(c.members.size()) + "): " + s.message());
  }
  return Status::ok();
}

Status BucketRunner::complete(Call& c) {
  c.timer.beginWait();
  if (c.pair) {
    double waited = 0, reduced = 0;
    comm::Status s = c.pairReduction.finish(&waited, &reduced);
    DistStats& st = rank_.stats();
    st.waitSeconds += waited;
    st.issueSeconds += reduced;
    c.timer.endWait(st);
    if (!s.isOk()) {
      const ir::Op& op = *c.members.front().op;
      return Status::error(op.loc(), std::string(op.mnemonic()) + ": " + s.message());
    }
    Clock::time_point t0 = Clock::now();
    const char* base = reinterpret_cast<const char*>(c.recv.data());
    for (const Member& m : c.members)
      if (m.bytes > 0) std::memcpy(m.result.data, base + m.offsetBytes, m.bytes);
    st.issueSeconds += since(t0);
    return Status::ok();
  }
  if (c.twoPhase) {
    double waited = 0;
    comm::Status s = c.reduction.finish(&waited);
    rank_.stats().waitSeconds += waited;
    c.timer.endWait(rank_.stats());
    if (!s.isOk()) {
      const ir::Op& op = *c.members.front().op;
      return Status::error(op.loc(), std::string(op.mnemonic()) + ": " + s.message());
    }
    const char* base = static_cast<const char*>(c.reduction.result());
    for (const Member& m : c.members)
      if (m.bytes > 0) std::memcpy(m.result.data, base + m.offsetBytes, m.bytes);
    return Status::ok();
  }
  Clock::time_point t0 = Clock::now();
  comm::Status s = c.request.pending() ? c.comm->wait(&c.request) : comm::Status::ok();
  DistStats& st = rank_.stats();
  st.waitSeconds += since(t0);
  c.timer.endWait(st);
  if (!s.isOk()) {
    const ir::Op& op = *c.members.front().op;
    return Status::error(op.loc(), std::string(op.mnemonic()) + ": " + s.message());
  }
  Clock::time_point t1 = Clock::now();
  int64_t strideBytes = (c.bytes + 3) / 4 * 4;
  const char* base = reinterpret_cast<const char*>(c.recv.data());
  for (const Member& m : c.members)
    reduceBlocks(base + m.offsetBytes, strideBytes, c.comm->size(),
                 ir::numElementsOf(m.operand.shape), m.operand.dtype,
                 m.op->enumAttr("op", ir::ReduceOp::Sum), m.result.data);
  st.issueSeconds += since(t1);
  return Status::ok();
}

Status BucketRunner::done(const ir::Op& op) {
  auto holds = [&](const Call& c) {
    for (const Member& m : c.members)
      if (m.op == &op) return true;
    return false;
  };
  if (open_ && holds(*open_)) {  // (a consistent plan closes a bucket before a member's done)
    TRY(issue(*open_));
    inFlight_.push_back(std::move(open_));
  }
  for (size_t i = 0; i < inFlight_.size(); ++i) {
    Call& c = *inFlight_[i];
    if (!holds(c)) continue;
    if (c.issued) {
      c.issued = false;  // completed once: every member's result is written now
      TRY(complete(c));
    }
    c.members.erase(std::remove_if(c.members.begin(), c.members.end(),
                                   [&](const Member& m) { return m.op == &op; }),
                    c.members.end());
    if (c.members.empty()) {
      spare_.push_back(std::move(inFlight_[i]));
      inFlight_.erase(inFlight_.begin() + static_cast<long>(i));
    }
    return Status::ok();
  }
  return Status::error(op.loc(), std::string(op.mnemonic()) +
                                     ": done of a bucketed all_reduce that was never started");
}

Status BucketRunner::startPendingPhase2() {
  for (auto& c : inFlight_)
    if (c->issued && ((c->twoPhase && c->reduction.needsPhase2()) ||
                      (c->pair && c->pairReduction.needsPhase2()))) {
      double waited = 0, reduced = 0;
      comm::Status s = c->pair ? c->pairReduction.startPhase2(&waited, &reduced)
                               : c->reduction.startPhase2(&waited);
      rank_.stats().waitSeconds += waited;
      rank_.stats().issueSeconds += reduced;
      if (!s.isOk()) {
        const ir::Op& op = *c->members.front().op;
        return Status::error(op.loc(), std::string(op.mnemonic()) + ": " + s.message());
      }
    }
  return Status::ok();
}

void BucketRunner::poll() {
  for (auto& c : inFlight_) {
    if (!c->issued) continue;  // completed already (members' dones still to come)
    if (c->twoPhase) {
      c->reduction.poll();
      if (c->reduction.completed()) c->timer.sawComplete();
      continue;
    }
    if (c->pair) {
      c->pairReduction.poll();
      if (c->pairReduction.completed()) c->timer.sawComplete();
      continue;
    }
    if (c->request.pending()) {
      bool done = false;
      (void)c->comm->test(&c->request, &done);
    }
    if (!c->request.pending()) c->timer.sawComplete();
  }
}

}  // namespace tessera::codegen
