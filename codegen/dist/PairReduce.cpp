// The two-rank sum all_reduce in halves (see PairReduce.h).
#include "codegen/dist/PairReduce.h"

#include <chrono>

namespace tessera::codegen {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

comm::DataType wireType(ir::DType t) {
  return t == ir::DType::F64 ? comm::DataType::F64 : comm::DataType::F32;
}

// dst = a + b elementwise in the element type: bitwise reduceBlocks' double sum rounded once
// for two addends (CollectiveCall.cpp's two-addend fast path says why). dst may alias a.
template <typename T>
void addTyped(const char* a, const char* b, int64_t count, char* dst) {
  const T* x = reinterpret_cast<const T*>(a);
  const T* y = reinterpret_cast<const T*>(b);
  T* z = reinterpret_cast<T*>(dst);
  for (int64_t i = 0; i < count; ++i) z[i] = x[i] + y[i];
}

void addPair(const char* a, const char* b, int64_t count, ir::DType t, char* dst) {
  if (t == ir::DType::F64) addTyped<double>(a, b, count, dst);
  else addTyped<float>(a, b, count, dst);
}

}  // namespace

bool PairAllReduce::applies(int n, ir::DType t, ir::ReduceOp op) {
  return n == 2 && op == ir::ReduceOp::Sum && (t == ir::DType::F32 || t == ir::DType::F64);
}

PairAllReduce::~PairAllReduce() {
  if (phase_ != 0) {
    if (recv_.pending()) (void)comm_->wait(&recv_);
    if (send_.pending()) (void)comm_->wait(&send_);
  }
}

comm::Status PairAllReduce::start(comm::Communicator& c, const void* src, void* dst,
                                  int64_t count, ir::DType t) {
  if (phase_ != 0) {
    double w = 0, r = 0;
    (void)finish(&w, &r);
  }
  comm_ = &c;
  src_ = static_cast<const char*>(src);
  dst_ = static_cast<char*>(dst);
  count_ = count;
  dtype_ = t;
  const int p = c.rank(), q = 1 - p;
  const int64_t e = ir::dtypeBytes(t), h0 = firstHalf(count);
  const int64_t off[2] = {0, h0}, len[2] = {h0, count - h0};
  stage_.resize(static_cast<size_t>(len[p] * e));
  wireBytes_ = (len[q] + len[p]) * e;
  phase_ = 1;
  // Zero-length halves (count < 2) exchange nothing.
  if (len[p] > 0)
    TESSERA_COMM_TRY(c.startRecv(stage_.data(), static_cast<size_t>(len[p]), wireType(t), q,
                                 &recv_));
  if (len[q] > 0)
    TESSERA_COMM_TRY(c.startSend(src_ + off[q] * e, static_cast<size_t>(len[q]), wireType(t), q,
                                 &send_));
  return comm::Status::ok();
}

comm::Status PairAllReduce::waitBoth(double* waited) {
  Clock::time_point t0 = Clock::now();
  comm::Status s = recv_.pending() ? comm_->wait(&recv_) : comm::Status::ok();
  comm::Status s2 = send_.pending() ? comm_->wait(&send_) : comm::Status::ok();
  if (waited) *waited += since(t0);
  return s.isOk() ? s2 : s;
}

comm::Status PairAllReduce::startPhase2(double* waited, double* reduced) {
  if (phase_ != 1) return comm::Status::ok();
  comm::Status s = waitBoth(waited);
  phase_ = 2;
  if (!s.isOk()) return s;
  const int p = comm_->rank(), q = 1 - p;
  const int64_t e = ir::dtypeBytes(dtype_), h0 = firstHalf(count_);
  const int64_t off[2] = {0, h0}, len[2] = {h0, count_ - h0};
  if (len[p] > 0) {
    // Position order: position 0's contribution first (reduceBlocks over two blocks).
    Clock::time_point t0 = Clock::now();
    const char* mine = src_ + off[p] * e;
    const char* theirs = stage_.data();
    addPair(p == 0 ? mine : theirs, p == 0 ? theirs : mine, len[p], dtype_, dst_ + off[p] * e);
    if (reduced) *reduced += since(t0);
  }
  if (len[q] > 0)
    TESSERA_COMM_TRY(comm_->startRecv(dst_ + off[q] * e, static_cast<size_t>(len[q]),
                                      wireType(dtype_), q, &recv_));
  if (len[p] > 0)
    TESSERA_COMM_TRY(comm_->startSend(dst_ + off[p] * e, static_cast<size_t>(len[p]),
                                      wireType(dtype_), q, &send_));
  return comm::Status::ok();
}

void PairAllReduce::poll() {
  bool done = false;
  if (phase_ != 0 && recv_.pending()) (void)comm_->test(&recv_, &done);
  if (phase_ != 0 && send_.pending()) (void)comm_->test(&send_, &done);
}

comm::Status PairAllReduce::finish(double* waited, double* reduced) {
  if (phase_ == 0) return comm::Status::ok();
  if (phase_ == 1) {
    comm::Status s = startPhase2(waited, reduced);
    if (!s.isOk()) {
      (void)waitBoth(nullptr);
      phase_ = 0;
      return s;
    }
  }
  comm::Status s = waitBoth(waited);
  phase_ = 0;
  return s;
}

}  // namespace tessera::codegen
