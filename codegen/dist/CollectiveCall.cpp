// The collective ops on host buffers (see CollectiveCall.h). Each op's meaning follows the
// interpreter's simulation (partition/exec/SimulatedCollectives.cpp): a tensor split along dim d
// is viewed as [outer, len, inner]; chunk p of n holds rows [p*len/n, (p+1)*len/n) of every outer
// slice; concatenation along d interleaves the pieces' rows per outer index.
#include "codegen/dist/CollectiveCall.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "codegen/runtime/TensorIO.h"

namespace tessera::codegen {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int64_t words(int64_t bytes) { return (bytes + 3) / 4; }

int64_t product(const std::vector<int64_t>& s, size_t from, size_t to) {
  int64_t n = 1;
  for (size_t i = from; i < to; ++i) n *= s[i];
  return n;
}

int64_t bytesOf(const HostArray& a) {
  return ir::numElementsOf(a.shape) * ir::dtypeBytes(a.dtype);
}

// Packs chunk p (of n along the middle dim of [outer, len, inner] with element size e) of every
// outer slice into block p of `dst` (blocks `blockBytes` apart).
void packChunks(const char* src, int64_t outer, int64_t len, int64_t innerBytes, int n,
                int64_t blockBytes, char* dst) {
  int64_t clen = len / n, rowBytes = clen * innerBytes;
  for (int p = 0; p < n; ++p)
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + p * blockBytes + o * rowBytes, src + (o * len + p * clen) * innerBytes,
                  rowBytes);
}

}  // namespace

CollectiveCall::~CollectiveCall() {
  if (inFlight_) (void)finish();
}

Status CollectiveCall::opError(const std::string& message) const {
  return Status::error(op_->loc(), std::string(op_->mnemonic()) + ": " + message);
}

Status CollectiveCall::start(RankContext& rank, const ir::Op& op,
                             const std::vector<HostArray>& operands,
                             const std::vector<HostArray>& results) {
  if (inFlight_) TRY(finish());
  rank_ = &rank;
  op_ = &op;
  if (const ir::AttrValue* m = op.attr("mesh");
      m && std::get<ir::MeshRef>(*m).name != rank.mesh().name)
    return opError("runs on mesh @" + std::get<ir::MeshRef>(*m).name + ", this rank on @" +
                   rank.mesh().name);
  StatusOr<comm::Communicator*> c = rank.communicator(op.attrAs<ir::AxisList>("axes").axes);
  if (!c.isOk()) return opError(c.status().message());
  comm_ = *c;
  n_ = comm_->size();
  pos_ = comm_->rank();
  Clock::time_point t0 = Clock::now();
  requests_.clear();
  unpack_ = Unpack::None;
  Status s = issue(operands, results);
  if (!s.isOk()) {
    // Complete whatever was issued before the error, so no request is left pending.
    for (comm::Request& r : requests_)
      if (r.pending()) (void)comm_->wait(&r);
    return s;
  }
  inFlight_ = true;
  timer_.issued();
  DistStats& st = rank.stats();
  st.collectives += 1;
  st.calls += 1;
  for (const HostArray& a : operands) st.bytes += bytesOf(a);
  st.issueSeconds += since(t0);
  return Status::ok();
}

Status CollectiveCall::issue(const std::vector<HostArray>& operands,
                             const std::vector<HostArray>& results) {
  const ir::Op& op = *op_;
  auto fromComm = [&](comm::Status s) { return s.isOk() ? Status::ok() : opError(s.message()); };
  auto dimAttr = [&](const char* name, int rank, int* out) -> Status {
    int64_t d = op.intAttr(name);
    if (d < 0) d += rank;
    if (d < 0 || d >= rank) return opError(std::string(name) + " " + std::to_string(op.intAttr(name)) +
                                           " is outside the operand's " + std::to_string(rank) +
                                           " dims");
    *out = static_cast<int>(d);
    return Status::ok();
  };
  constexpr comm::DataType kWord = comm::DataType::I32;
  if (!results.empty()) result_ = results[0];
  switch (op.kind()) {
    case ir::OpKind::AllReduce: {
      const HostArray& x = operands[0];
      int64_t bytes = bytesOf(x), w = words(bytes);
      reduceOp_ = op.enumAttr("op", ir::ReduceOp::Sum);
      elements_ = ir::numElementsOf(x.shape);
      if (useTwoPhase(rank_->options, bytes, n_)) {
        // Each rank reduces its chunk in group order, then the chunks are gathered
        // (TwoPhaseReduce.h): ring cost, the same bits as below.
        unpack_ = Unpack::TwoPhase;
        copyBytes_ = bytes;
        return fromComm(twoPhase_.start(*comm_, x.data, elements_, x.dtype, reduceOp_));
      }
      if (usePair(rank_->options, bytes, n_, x.dtype, reduceOp_)) {
        // Two ranks: each sums its half, straight between operand and result (PairReduce.h).
        unpack_ = Unpack::Pair;
        return fromComm(pair_.start(*comm_, x.data, result_.data, elements_, x.dtype));
      }
      // Every rank gathers every member's operand and reduces it in group order itself.
      const void* send = x.data;
      if (bytes % 4) {
        send_.assign(w, 0);
        std::memcpy(send_.data(), x.data, bytes);
        send = send_.data();
      }
      recv_.resize(std::max<int64_t>(n_ * w, 1));
      requests_.emplace_back();
      TRY(fromComm(comm_->startAllGather(send, recv_.data(), w, kWord, &requests_.back())));
      unpack_ = Unpack::Reduce;
      blockWords_ = w;
      return Status::ok();
    }
    case ir::OpKind::ReduceScatter:
    case ir::OpKind::AllToAll: {
      // Send block p = chunk p along the split dim to rank p; rank p receives every member's
      // chunk p, and reduces (reduce_scatter) or concatenates (all_to_all) them.
      const HostArray& x = operands[0];
      int rank = static_cast<int>(x.shape.size());
      int split = 0;
      TRY(dimAttr(op.kind() == ir::OpKind::AllToAll ? "split_dim" : "dim", rank, &split));
      int64_t len = x.shape[split];
      if (len % n_)
        return opError("dim " + std::to_string(split) + " has " + std::to_string(len) +
                       " elements, which the group of " + std::to_string(n_) +
                       " ranks does not divide");
      int64_t e = ir::dtypeBytes(x.dtype);
      int64_t outer = product(x.shape, 0, split);
      int64_t innerBytes = product(x.shape, split + 1, x.shape.size()) * e;
      int64_t blockBytes = outer * (len / n_) * innerBytes, w = words(blockBytes);
      const void* send = x.data;
      if (outer != 1 || blockBytes % 4) {
        send_.assign(std::max<int64_t>(n_ * w, 1), 0);
        packChunks(static_cast<const char*>(x.data), outer, len, innerBytes, n_, w * 4,
                   reinterpret_cast<char*>(send_.data()));
        send = send_.data();
      }
      blockWords_ = w;
      if (op.kind() == ir::OpKind::ReduceScatter) {
        recv_.resize(std::max<int64_t>(n_ * w, 1));
        requests_.emplace_back();
        TRY(fromComm(comm_->startAllToAll(send, recv_.data(), w, kWord, &requests_.back())));
        unpack_ = Unpack::Reduce;
        elements_ = blockBytes / e;
        reduceOp_ = op.enumAttr("op", ir::ReduceOp::Sum);
        return Status::ok();
      }
      // all_to_all: the received pieces (the operand's shape with the split dim / n) are
      // concatenated along concat_dim.
      int cat = 0;
      TRY(dimAttr("concat_dim", rank, &cat));
      std::vector<int64_t> piece = x.shape;
      piece[split] /= n_;
      outer_ = product(piece, 0, cat);
      rowBytes_ = product(piece, cat, piece.size()) * e;
      void* recv = result_.data;
      if (outer_ != 1 || blockBytes % 4) {
        recv_.resize(std::max<int64_t>(n_ * w, 1));
        recv = recv_.data();
        unpack_ = Unpack::Concat;
      }
      requests_.emplace_back();
      TRY(fromComm(comm_->startAllToAll(send, recv, w, kWord, &requests_.back())));
      return Status::ok();
    }
    case ir::OpKind::AllGather: {
      const HostArray& x = operands[0];
      int rank = static_cast<int>(x.shape.size());
      int d = 0;
      TRY(dimAttr("dim", rank, &d));
      int64_t bytes = bytesOf(x), w = words(bytes);
      const void* send = x.data;
      if (bytes % 4) {
        send_.assign(w, 0);
        std::memcpy(send_.data(), x.data, bytes);
        send = send_.data();
      }
      outer_ = product(x.shape, 0, d);
      rowBytes_ = product(x.shape, d, x.shape.size()) * ir::dtypeBytes(x.dtype);
      blockWords_ = w;
      void* recv = result_.data;
      if (outer_ != 1 || bytes % 4) {
        recv_.resize(std::max<int64_t>(n_ * w, 1));
        recv = recv_.data();
        unpack_ = Unpack::Concat;
      }
      requests_.emplace_back();
      TRY(fromComm(comm_->startAllGather(send, recv, w, kWord, &requests_.back())));
      return Status::ok();
    }
    case ir::OpKind::CollectivePermute: {
      const HostArray& x = operands[0];
      const auto& pairs = op.attrAs<std::vector<int64_t>>("pairs");
      if (pairs.size() % 2) return opError("pairs has an odd number of entries");
      int source = -1;
      for (size_t i = 0; i < pairs.size(); ++i)
        if (pairs[i] < 0 || pairs[i] >= n_)
          return opError("pair position " + std::to_string(pairs[i]) + " is outside the group of " +
                         std::to_string(n_));
      for (size_t i = 0; i < pairs.size(); i += 2)
        if (pairs[i + 1] == pos_) {
          if (source >= 0)
            return opError("position " + std::to_string(pos_) + " is the target of two pairs");
          source = static_cast<int>(pairs[i]);
        }
      int64_t bytes = bytesOf(x), w = words(bytes);
      bool padded = bytes % 4 != 0;
      copyBytes_ = bytes;
      if (source < 0) {
        unpack_ = Unpack::Zero;  // no pair targets this rank: zeros, as the interpreter defines
      } else if (source == pos_) {
        unpack_ = Unpack::Copy;
        copyFrom_ = x.data;
      } else {
        void* recv = result_.data;
        if (padded) {
          recv_.resize(std::max<int64_t>(w, 1));
          recv = recv_.data();
          unpack_ = Unpack::Copy;
          copyFrom_ = recv_.data();
        }
        requests_.emplace_back();
        TRY(fromComm(comm_->startRecv(recv, w, kWord, source, &requests_.back())));
      }
      const void* send = x.data;
      if (padded) {
        send_.assign(std::max<int64_t>(w, 1), 0);
        std::memcpy(send_.data(), x.data, bytes);
        send = send_.data();
      }
      for (size_t i = 0; i < pairs.size(); i += 2)
        if (pairs[i] == pos_ && pairs[i + 1] != pos_) {
          requests_.emplace_back();
          TRY(fromComm(comm_->startSend(send, w, kWord, static_cast<int>(pairs[i + 1]),
                                        &requests_.back())));
        }
      return Status::ok();
    }
    case ir::OpKind::Send:
    case ir::OpKind::Recv: {
      int64_t peer = op.intAttr("peer");
      if (peer < 0 || peer >= n_)
        return opError("peer " + std::to_string(peer) + " is outside the group of " +
                       std::to_string(n_));
      if (peer == pos_) return opError("peer " + std::to_string(peer) + " is this rank itself");
      const HostArray& a = op.kind() == ir::OpKind::Send ? operands[0] : result_;
      int64_t bytes = bytesOf(a), w = words(bytes);
      requests_.emplace_back();
      if (op.kind() == ir::OpKind::Send) {
        const void* send = a.data;
        if (bytes % 4) {
          send_.assign(w, 0);
          std::memcpy(send_.data(), a.data, bytes);
          send = send_.data();
        }
        return fromComm(comm_->startSend(send, w, kWord, static_cast<int>(peer), &requests_.back()));
      }
      void* recv = a.data;
      if (bytes % 4) {
        recv_.resize(w);
        recv = recv_.data();
        unpack_ = Unpack::Copy;
        copyFrom_ = recv_.data();
        copyBytes_ = bytes;
      }
      return fromComm(comm_->startRecv(recv, w, kWord, static_cast<int>(peer), &requests_.back()));
    }
    case ir::OpKind::Broadcast: {
      const HostArray& x = operands[0];
      int64_t root = op.intAttr("root");
      if (root < 0 || root >= n_)
        return opError("root " + std::to_string(root) + " is outside the group of " +
                       std::to_string(n_));
      int64_t bytes = bytesOf(x), w = words(bytes);
      void* buf = result_.data;
      if (bytes % 4) {
        recv_.assign(std::max<int64_t>(w, 1), 0);
        buf = recv_.data();
        unpack_ = Unpack::Copy;
        copyFrom_ = recv_.data();
        copyBytes_ = bytes;
      }
      if (pos_ == root && bytes > 0) std::memcpy(buf, x.data, bytes);
      requests_.emplace_back();
      return fromComm(comm_->startBroadcast(buf, w, kWord, static_cast<int>(root),
                                            &requests_.back()));
    }
    default: return opError("is not a collective the compiled engine runs");
  }
}

Status CollectiveCall::startPhase2() {
  if (!needsPhase2()) return Status::ok();
  double waited = 0, reduced = 0;
  comm::Status s = unpack_ == Unpack::Pair ? pair_.startPhase2(&waited, &reduced)
                                           : twoPhase_.startPhase2(&waited);
  rank_->stats().waitSeconds += waited;
  rank_->stats().issueSeconds += reduced;
  return s.isOk() ? Status::ok() : opError(s.message());
}

bool usePair(const DistOptions& o, int64_t bytes, int n, ir::DType t, ir::ReduceOp op) {
  return o.pairMinBytes >= 0 && bytes >= o.pairMinBytes && PairAllReduce::applies(n, t, op);
}

void CollectiveCall::poll() {
  if (!inFlight_) return;
  if (unpack_ == Unpack::TwoPhase) {
    twoPhase_.poll();
    if (twoPhase_.completed()) timer_.sawComplete();
    return;
  }
  if (unpack_ == Unpack::Pair) {
    pair_.poll();
    if (pair_.completed()) timer_.sawComplete();
    return;
  }
  bool all = true;
  for (comm::Request& r : requests_)
    if (r.pending()) {
      bool done = false;
      (void)comm_->test(&r, &done);  // an error shows again in finish()'s wait
      all = all && done;
    }
  if (all) timer_.sawComplete();
}

Status CollectiveCall::finish() {
  if (!inFlight_) return Status::ok();
  inFlight_ = false;
  timer_.beginWait();
  if (unpack_ == Unpack::TwoPhase) {
    double waited = 0;
    comm::Status s = twoPhase_.finish(&waited);
    rank_->stats().waitSeconds += waited;
    timer_.endWait(rank_->stats());
    if (!s.isOk()) return opError(s.message());
    if (copyBytes_ > 0) std::memcpy(result_.data, twoPhase_.result(), copyBytes_);
    return Status::ok();
  }
  if (unpack_ == Unpack::Pair) {
    double waited = 0, reduced = 0;
    comm::Status s = pair_.finish(&waited, &reduced);
    rank_->stats().waitSeconds += waited;
    rank_->stats().issueSeconds += reduced;
    timer_.endWait(rank_->stats());
    return s.isOk() ? Status::ok() : opError(s.message());
  }
  Clock::time_point t0 = Clock::now();
  Status failed;
  for (comm::Request& r : requests_)
    if (r.pending()) {
      comm::Status s = comm_->wait(&r);
      if (!s.isOk() && failed.isOk()) failed = opError(s.message());
    }
  DistStats& st = rank_->stats();
  st.waitSeconds += since(t0);
  timer_.endWait(st);
  TRY(failed);
  Clock::time_point t1 = Clock::now();
  switch (unpack_) {
    case Unpack::None: break;
    case Unpack::Reduce:
      reduceBlocks(recv_.data(), blockWords_ * 4, n_, elements_, result_.dtype, reduceOp_,
                   result_.data);
      break;
    case Unpack::Concat: {
      const char* src = reinterpret_cast<const char*>(recv_.data());
      char* dst = static_cast<char*>(result_.data);
      for (int64_t o = 0; o < outer_; ++o)
        for (int p = 0; p < n_; ++p)
          std::memcpy(dst + (o * n_ + p) * rowBytes_, src + p * blockWords_ * 4 + o * rowBytes_,
                      rowBytes_);
      break;
    }
    case Unpack::Copy:
      if (copyBytes_ > 0) std::memcpy(result_.data, copyFrom_, copyBytes_);
      break;
    case Unpack::Zero:
      if (copyBytes_ > 0) std::memset(result_.data, 0, copyBytes_);
      break;
    case Unpack::TwoPhase:
    case Unpack::Pair: break;  // (handled above)
  }
  st.issueSeconds += since(t1);
  return Status::ok();
}

Status runAxisIndex(RankContext& rank, const ir::Op& op, const HostArray& result) {
  std::string meshName;
  if (const ir::AttrValue* m = op.attr("mesh")) meshName = std::get<ir::MeshRef>(*m).name;
  if (!meshName.empty() && meshName != rank.mesh().name)
    return Status::error(op.loc(), std::string(op.mnemonic()) + ": runs on mesh @" + meshName +
                                       ", this rank on @" + rank.mesh().name);
  StatusOr<int64_t> p = rank.position(op.attrAs<ir::AxisList>("axes").axes);
  if (!p.isOk())
    return Status::error(op.loc(), std::string(op.mnemonic()) + ": " + p.status().message());
  storeElement(result.data, result.dtype, 0, static_cast<double>(*p));
  return Status::ok();
}

}  // namespace tessera::codegen
