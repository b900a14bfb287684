// The two-phase deterministic all_reduce (see TwoPhaseReduce.h).
#include "codegen/dist/TwoPhaseReduce.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "codegen/dist/CollectiveCall.h"
#include "codegen/dist/RankContext.h"

namespace tessera::codegen {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr comm::DataType kWord = comm::DataType::I32;

}  // namespace

bool useTwoPhase(const DistOptions& o, int64_t bytes, int n) {
  return n >= std::max(o.twoPhaseMinRanks, 2) && bytes >= o.twoPhaseMinBytes;
}

int64_t TwoPhaseAllReduce::chunkElements(int64_t count, int n, ir::DType t) {
  int64_t e = ir::dtypeBytes(t);
  int64_t perWord = e >= 4 ? 1 : 4 / e;  // elements per 32-bit word (1, 2 or 4)
  int64_t c = (count + n - 1) / n;
  c = (c + perWord - 1) / perWord * perWord;
  return std::max<int64_t>(c, perWord);
}

TwoPhaseAllReduce::~TwoPhaseAllReduce() {
  if (phase_ != 0 && request_.pending()) (void)comm_->wait(&request_);
}

comm::Status TwoPhaseAllReduce::start(comm::Communicator& c, const void* src, int64_t count,
                                      ir::DType t, ir::ReduceOp op) {
  if (phase_ != 0 && request_.pending()) (void)comm_->wait(&request_);
  comm_ = &c;
  count_ = count;
  dtype_ = t;
  op_ = op;
  const int n = c.size();
  const int64_t e = ir::dtypeBytes(t);
  chunk_ = chunkElements(count, n, t);
  chunkWords_ = chunk_ * e / 4;
  const int64_t bytes = count * e, paddedBytes = n * chunk_ * e;
  // Block p of the send buffer is chunk p: the buffer itself when it fills the n chunks exactly.
  const void* send = src;
  if (bytes != paddedBytes) {
    send1_.assign(static_cast<size_t>(n * chunkWords_), 0);
    if (bytes > 0) std::memcpy(send1_.data(), src, static_cast<size_t>(bytes));
    send = send1_.data();
  }
  recv1_.resize(static_cast<size_t>(n * chunkWords_));
  wireBytes_ = 2 * (n - 1) * chunkWords_ * 4;
  phase_ = 1;
  return c.startAllToAll(send, recv1_.data(), static_cast<size_t>(chunkWords_), kWord, &request_);
}

comm::Status TwoPhaseAllReduce::startPhase2(double* waited) {
  if (phase_ != 1) return comm::Status::ok();
  Clock::time_point t0 = Clock::now();
  comm::Status s = request_.pending() ? comm_->wait(&request_) : comm::Status::ok();
  if (waited) *waited += since(t0);
  phase_ = 2;
  if (!s.isOk()) return s;
  const int n = comm_->size(), pos = comm_->rank();
  // This position's chunk: received block p is position p's contribution; sum in block order.
  // Elements past the end of the buffer (padding) are not reduced; they stay zero.
  const int64_t mine = std::clamp<int64_t>(count_ - pos * chunk_, 0, chunk_);
  send2_.assign(static_cast<size_t>(chunkWords_), 0);
  if (mine > 0)
    reduceBlocks(recv1_.data(), chunkWords_ * 4, n, mine, dtype_, op_, send2_.data());
  recv2_.resize(static_cast<size_t>(n * chunkWords_));
  result_ = recv2_.data();
  return comm_->startAllGather(send2_.data(), recv2_.data(), static_cast<size_t>(chunkWords_),
                               kWord, &request_);
}

void TwoPhaseAllReduce::poll() {
  if (phase_ != 0 && request_.pending()) {
    bool done = false;
    (void)comm_->test(&request_, &done);  // an error shows again in the wait
  }
}

comm::Status TwoPhaseAllReduce::finish(double* waited) {
  if (phase_ == 0) return comm::Status::ok();
  if (phase_ == 1) {
    comm::Status s = startPhase2(waited);
    if (!s.isOk()) {
      phase_ = 0;
      return s;
    }
  }
  Clock::time_point t0 = Clock::now();
  comm::Status s = request_.pending() ? comm_->wait(&request_) : comm::Status::ok();
  if (waited) *waited += since(t0);
  phase_ = 0;
  return s;
}

}  // namespace tessera::codegen
