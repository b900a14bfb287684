// Argument checks, operation descriptions and the blocking forms shared by every backend
// (see Communicator.h).
#include "comm/Communicator.h"

#include <utility>

#include "comm/Timeout.h"

namespace tessera::comm {

namespace {

std::string describe(const char* op, DataType t, size_t count, const char* extra = nullptr) {
  std::string s = std::string(op) + "(";
  if (extra) s += std::string(extra) + ", ";
  return s + name(t) + " x " + std::to_string(count) + ")";
}

}  // namespace

Communicator::Communicator(std::string name, int rank, int size, int worldRank,
                           double timeoutSeconds)
    : name_(std::move(name)), rank_(rank), size_(size), worldRank_(worldRank),
      timeoutSeconds_(timeoutSeconds) {
  assert(size > 0 && rank >= 0 && rank < size && timeoutSeconds > 0);
}

std::string Communicator::where(const char* op) const {
  return "communicator '" + name_ + "' (rank " + std::to_string(rank_) + " of " +
         std::to_string(size_) + "): " + op + ": ";
}

Status Communicator::checkRequest(const Request* req, const char* op) const {
  if (!req) return Status::error(where(op) + "no Request to start into");
  if (req->pending())
    return Status::error(where(op) + "the Request is still pending (" + req->what() +
                         "); wait for it first");
  return Status::ok();
}

Status Communicator::checkBuffers(const void* a, const void* b, size_t count,
                                  const char* op) const {
  if (count > 0 && (!a || !b)) return Status::error(where(op) + "null buffer");
  return Status::ok();
}

Status Communicator::checkRank(int r, const char* what, const char* op) const {
  if (r < 0 || r >= size_)
    return Status::error(where(op) + what + " " + std::to_string(r) + " is outside [0, " +
                         std::to_string(size_) + ")");
  return Status::ok();
}

Status Communicator::launch(Request* req, std::string what, Status started,
                            std::unique_ptr<RequestImpl> impl) {
  if (!started.isOk()) return Status::error(where(what.c_str()) + started.message());
  assert(impl && "a backend started an operation without a request");
  req->impl_ = std::move(impl);
  req->what_ = std::move(what);
  return Status::ok();
}

Status Communicator::startAllReduce(const void* send, void* recv, size_t count, DataType t,
                                    ReduceOp op, Request* req) {
  TESSERA_COMM_TRY(checkRequest(req, "all_reduce"));
  TESSERA_COMM_TRY(checkBuffers(send, recv, count, "all_reduce"));
  std::unique_ptr<RequestImpl> impl;
  Status s = doAllReduce(send, recv, count, t, op, &impl);
  return launch(req, describe("all_reduce", t, count, comm::name(op)), s, std::move(impl));
}

Status Communicator::startReduceScatter(const void* send, void* recv, size_t recvCount,
                                        DataType t, ReduceOp op, Request* req) {
  TESSERA_COMM_TRY(checkRequest(req, "reduce_scatter"));
  TESSERA_COMM_TRY(checkBuffers(send, recv, recvCount, "reduce_scatter"));
  if (send == recv && recvCount > 0)
    return Status::error(where("reduce_scatter") + "send and recv must not alias");
  std::unique_ptr<RequestImpl> impl;
  Status s = doReduceScatter(send, recv, recvCount, t, op, &impl);
  return launch(req, describe("reduce_scatter", t, recvCount, comm::name(op)), s, std::move(impl));
}

Status Communicator::startAllGather(const void* send, void* recv, size_t sendCount, DataType t,
                                    Request* req) {
  TESSERA_COMM_TRY(checkRequest(req, "all_gather"));
  TESSERA_COMM_TRY(checkBuffers(send, recv, sendCount, "all_gather"));
  if (send == recv && sendCount > 0)
    return Status::error(where("all_gather") + "send and recv must not alias");
  std::unique_ptr<RequestImpl> impl;
  Status s = doAllGather(send, recv, sendCount, t, &impl);
  return launch(req, describe("all_gather", t, sendCount), s, std::move(impl));
}

Status Communicator::startAllToAll(const void* send, void* recv, size_t chunkCount, DataType t,
                                   Request* req) {
  TESSERA_COMM_TRY(checkRequest(req, "all_to_all"));
  TESSERA_COMM_TRY(checkBuffers(send, recv, chunkCount, "all_to_all"));
  if (send == recv && chunkCount > 0)
    return Status::error(where("all_to_all") + "send and recv must not alias");
  std::unique_ptr<RequestImpl> impl;
  Status s = doAllToAll(send, recv, chunkCount, t, &impl);
  return launch(req, describe("all_to_all", t, chunkCount), s, std::move(impl));
}

Status Communicator::startSend(const void* buf, size_t count, DataType t, int peer, Request* req) {
  TESSERA_COMM_TRY(checkRequest(req, "send"));
  TESSERA_COMM_TRY(checkBuffers(buf, buf, count, "send"));
  TESSERA_COMM_TRY(checkRank(peer, "peer", "send"));
  std::unique_ptr<RequestImpl> impl;
  Status s = doSend(buf, count, t, peer, &impl);
  std::string to = "to " + std::to_string(peer);
  return launch(req, describe("send", t, count, to.c_str()), s, std::move(impl));
}

Status Communicator::startRecv(void* buf, size_t count, DataType t, int peer, Request* req) {
  TESSERA_COMM_TRY(checkRequest(req, "recv"));
  TESSERA_COMM_TRY(checkBuffers(buf, buf, count, "recv"));
  TESSERA_COMM_TRY(checkRank(peer, "peer", "recv"));
  std::unique_ptr<RequestImpl> impl;
  Status s = doRecv(buf, count, t, peer, &impl);
  std::string from = "from " + std::to_string(peer);
  return launch(req, describe("recv", t, count, from.c_str()), s, std::move(impl));
}

Status Communicator::startBroadcast(void* buf, size_t count, DataType t, int root, Request* req) {
  TESSERA_COMM_TRY(checkRequest(req, "broadcast"));
  TESSERA_COMM_TRY(checkBuffers(buf, buf, count, "broadcast"));
  TESSERA_COMM_TRY(checkRank(root, "root", "broadcast"));
  std::unique_ptr<RequestImpl> impl;
  Status s = doBroadcast(buf, count, t, root, &impl);
  std::string from = "root " + std::to_string(root);
  return launch(req, describe("broadcast", t, count, from.c_str()), s, std::move(impl));
}

Status Communicator::startBarrier(Request* req) {
  TESSERA_COMM_TRY(checkRequest(req, "barrier"));
  std::unique_ptr<RequestImpl> impl;
  Status s = doBarrier(&impl);
  return launch(req, "barrier()", s, std::move(impl));
}

Status Communicator::finish(Request* req, Status result) {
  req->impl_.reset();
  if (!result.isOk())
    return Status::error(where(req->what_.c_str()) + result.message());
  return Status::ok();
}

Status Communicator::wait(Request* req) {
  if (!req || !req->pending()) return Status::error(where("wait") + "no pending Request");
  bool expired = false;
  Status s = pollUntilDone([&](bool* done) { return req->impl_->test(done); }, timeoutSeconds_,
                           &expired);
  if (expired) {
    std::string msg = timeoutMessage(worldRank_, name_, rank_, size_, req->what_, timeoutSeconds_);
    onTimeout(msg);
    // Only a test double gets here; the request stays pending in the backend's eyes, so drop it
    // without completing (the double owns no real transfers).
    req->impl_.reset();
    return Status::error(msg);
  }
  return finish(req, s);
}

Status Communicator::test(Request* req, bool* done) {
  if (!req || !req->pending()) return Status::error(where("test") + "no pending Request");
  *done = false;
  Status s = req->impl_->test(done);
  if (!s.isOk() || *done) {
    *done = true;
    return finish(req, s);
  }
  return Status::ok();
}

#define TESSERA_COMM_BLOCKING(call) \
  Request req;                      \
  TESSERA_COMM_TRY(call);           \
  return wait(&req)

Status Communicator::allReduce(const void* send, void* recv, size_t count, DataType t,
                               ReduceOp op) {
  TESSERA_COMM_BLOCKING(startAllReduce(send, recv, count, t, op, &req));
}
Status Communicator::reduceScatter(const void* send, void* recv, size_t recvCount, DataType t,
                                   ReduceOp op) {
  TESSERA_COMM_BLOCKING(startReduceScatter(send, recv, recvCount, t, op, &req));
}
Status Communicator::allGather(const void* send, void* recv, size_t sendCount, DataType t) {
  TESSERA_COMM_BLOCKING(startAllGather(send, recv, sendCount, t, &req));
}
Status Communicator::allToAll(const void* send, void* recv, size_t chunkCount, DataType t) {
  TESSERA_COMM_BLOCKING(startAllToAll(send, recv, chunkCount, t, &req));
}
Status Communicator::send(const void* buf, size_t count, DataType t, int peer) {
  TESSERA_COMM_BLOCKING(startSend(buf, count, t, peer, &req));
}
Status Communicator::recv(void* buf, size_t count, DataType t, int peer) {
  TESSERA_COMM_BLOCKING(startRecv(buf, count, t, peer, &req));
}
Status Communicator::broadcast(void* buf, size_t count, DataType t, int root) {
  TESSERA_COMM_BLOCKING(startBroadcast(buf, count, t, root, &req));
}
Status Communicator::barrier() { TESSERA_COMM_BLOCKING(startBarrier(&req)); }

#undef TESSERA_COMM_BLOCKING

StatusOr<std::unique_ptr<Communicator>> Communicator::split(int color, int key,
                                                            const std::string& name) {
  if (color < 0) return Status::error(where("split") + "color must be >= 0");
  auto r = doSplit(color, key, name);
  if (!r.isOk()) return Status::error(where("split") + r.status().message());
  return r;
}

}  // namespace tessera::comm
