// The Communicator interface: collectives and point-to-point transfers among a fixed group of ranks.
//
// One Communicator exists per group a rank talks to: the world, and one per mesh axis set (see
// Mesh.h, splitForAxes). Buffers are contiguous arrays of one DataType — host memory for the MPI
// backend, device memory for NCCL. Every operation has an async form (start* → Request, then
// wait/test) and a blocking form (start + wait). All ranks of a communicator must issue the same
// collectives in the same order; the caller (the partitioner's ordering check) guarantees that.
//
// Argument errors (null buffers, a peer outside the group, counts a backend cannot express) come back
// as a Status before anything is issued. A wait that does not complete within the communicator's
// timeout ends the job with a message naming the rank, the communicator and the collective — it never
// returns, because the other ranks would hang on the next collective anyway.
//
// Backends implement the protected do* hooks; the public methods check arguments and describe the
// operation once for all backends.
#pragma once

#include <cassert>
#include <cstddef>
#include <memory>
#include <string>

#include "comm/DataType.h"
#include "comm/Status.h"

namespace tessera::comm {

// A backend's in-flight operation.
class RequestImpl {
 public:
  virtual ~RequestImpl() = default;
  // Advances the operation; sets *done once it completed (then the buffers may be reused).
  virtual Status test(bool* done) = 0;
};

// The handle of an async operation. Must be completed (wait, or test until done) before it is
// destroyed or reused: the backend still owns the buffers until then.
class Request {
 public:
  Request() = default;
  Request(Request&&) = default;
  Request& operator=(Request&& other) {
    assert(!pending() && "overwriting a pending Request");
    impl_ = std::move(other.impl_);
    what_ = std::move(other.what_);
    return *this;
  }
  ~Request() { assert(!pending() && "a Request was destroyed before it completed"); }

  bool pending() const { return impl_ != nullptr; }
  // What the request waits for, e.g. "all_reduce(sum, f32 x 1024)".
  const std::string& what() const { return what_; }

 private:
  friend class Communicator;
  std::unique_ptr<RequestImpl> impl_;
  std::string what_;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Rank in the world communicator, for messages.
  int worldRank() const { return worldRank_; }
  // "world", or the mesh axes this communicator spans ("tp", "dp,tp").
  const std::string& name() const { return name_; }
  double timeoutSeconds() const { return timeoutSeconds_; }
  void setTimeoutSeconds(double s) { assert(s > 0); timeoutSeconds_ = s; }

  // ---- async: start an operation; complete it with wait() or test() ----
  // recv[i] = op over ranks of send[i], i < count. send == recv is allowed (in place).
  Status startAllReduce(const void* send, void* recv, size_t count, DataType t, ReduceOp op,
                        Request* req);
  // send holds size()*recvCount elements; rank r receives block r of the reduction.
  Status startReduceScatter(const void* send, void* recv, size_t recvCount, DataType t, ReduceOp op,
                            Request* req);
  // recv holds size()*sendCount elements: block r is rank r's send.
  Status startAllGather(const void* send, void* recv, size_t sendCount, DataType t, Request* req);
  // send and recv hold size()*chunkCount elements: block p of send goes to rank p, block p of recv
  // comes from rank p.
  Status startAllToAll(const void* send, void* recv, size_t chunkCount, DataType t, Request* req);
  // Point to point; transfers between one pair of ranks arrive in the order they were started.
  Status startSend(const void* buf, size_t count, DataType t, int peer, Request* req);
  Status startRecv(void* buf, size_t count, DataType t, int peer, Request* req);
  // buf on `root` is copied into buf on every rank.
  Status startBroadcast(void* buf, size_t count, DataType t, int root, Request* req);
  Status startBarrier(Request* req);

  // Blocks until `req` completed. Ends the job if it does not within timeoutSeconds().
  Status wait(Request* req);
  // Sets *done when `req` completed (the request is then no longer pending). Never blocks.
  Status test(Request* req, bool* done);

  // ---- blocking forms: start + wait ----
  Status allReduce(const void* send, void* recv, size_t count, DataType t, ReduceOp op);
  Status reduceScatter(const void* send, void* recv, size_t recvCount, DataType t, ReduceOp op);
  Status allGather(const void* send, void* recv, size_t sendCount, DataType t);
  Status allToAll(const void* send, void* recv, size_t chunkCount, DataType t);
  Status send(const void* buf, size_t count, DataType t, int peer);
  Status recv(void* buf, size_t count, DataType t, int peer);
  Status broadcast(void* buf, size_t count, DataType t, int root);
  Status barrier();

  // Collective over this communicator: ranks with the same color form a new communicator, ordered
  // by key (ties by rank). Every rank must call it. Most callers want splitForAxes (Mesh.h).
  StatusOr<std::unique_ptr<Communicator>> split(int color, int key, const std::string& name);

 protected:
  Communicator(std::string name, int rank, int size, int worldRank, double timeoutSeconds);

  // Backend hooks; arguments are already checked. Each stores its in-flight state in *impl.
  virtual Status doAllReduce(const void* send, void* recv, size_t count, DataType t, ReduceOp op,
                             std::unique_ptr<RequestImpl>* impl) = 0;
  virtual Status doReduceScatter(const void* send, void* recv, size_t recvCount, DataType t,
                                 ReduceOp op, std::unique_ptr<RequestImpl>* impl) = 0;
  virtual Status doAllGather(const void* send, void* recv, size_t sendCount, DataType t,
                             std::unique_ptr<RequestImpl>* impl) = 0;
  virtual Status doAllToAll(const void* send, void* recv, size_t chunkCount, DataType t,
                            std::unique_ptr<RequestImpl>* impl) = 0;
  virtual Status doSend(const void* buf, size_t count, DataType t, int peer,
                        std::unique_ptr<RequestImpl>* impl) = 0;
  virtual Status doRecv(void* buf, size_t count, DataType t, int peer,
                        std::unique_ptr<RequestImpl>* impl) = 0;
  virtual Status doBroadcast(void* buf, size_t count, DataType t, int root,
                             std::unique_ptr<RequestImpl>* impl) = 0;
  virtual Status doBarrier(std::unique_ptr<RequestImpl>* impl) = 0;
  virtual StatusOr<std::unique_ptr<Communicator>> doSplit(int color, int key,
                                                          const std::string& name) = 0;
  // Called when a wait expires, with the message for stderr. Backends end the job and do not
  // return; if an implementation returns (a test double), wait() returns the message as an error.
  virtual void onTimeout(const std::string& message) = 0;

 private:
  Status checkRequest(const Request* req, const char* op) const;
  Status checkBuffers(const void* a, const void* b, size_t count, const char* op) const;
  Status checkRank(int r, const char* what, const char* op) const;
  Status launch(Request* req, std::string what, Status started, std::unique_ptr<RequestImpl> impl);
  Status finish(Request* req, Status waited);
  std::string where(const char* op) const;

  std::string name_;
  int rank_;
  int size_;
  int worldRank_;
  double timeoutSeconds_;
};

}  // namespace tessera::comm
