// MPI backend of Communicator (see MpiCommunicator.h).
#include "comm/mpi/MpiCommunicator.h"

#include <climits>

#include "comm/mpi/MpiRuntime.h"

namespace tessera::comm::mpi {

namespace {

MPI_Datatype mpiType(DataType t) {
  switch (t) {
    case DataType::F32: return MPI_FLOAT;
    case DataType::F64: return MPI_DOUBLE;
    case DataType::I32: return MPI_INT32_T;
    case DataType::I64: return MPI_INT64_T;
  }
  return MPI_DATATYPE_NULL;
}

MPI_Op mpiOp(ReduceOp op) { return op == ReduceOp::Sum ? MPI_SUM : MPI_MAX; }

// MPI counts are int. Larger buffers would need derived datatypes; no plan here comes near 2^31
// elements per call, so refuse clearly rather than truncate.
Status checkCount(size_t count, const char* what) {
  if (count > static_cast<size_t>(INT_MAX))
    return Status::error(std::string(what) + " " + std::to_string(count) +
                         " exceeds the MPI limit of 2^31-1 elements per call");
  return Status::ok();
}

class MpiRequest final : public RequestImpl {
 public:
  // expectedCount >= 0 for receives: a shorter message than expected is an error, not silence.
  explicit MpiRequest(long expectedCount = -1, MPI_Datatype type = MPI_DATATYPE_NULL)
      : expected_(expectedCount), type_(type) {}
  MPI_Request* handle() { return &req_; }

  Status test(bool* done) override {
    int flag = 0;
    MPI_Status st;
    int rc = MPI_Test(&req_, &flag, &st);
    if (rc != MPI_SUCCESS) return mpiError("MPI_Test", rc);
    *done = flag != 0;
    if (*done && expected_ >= 0) {
      // (st.MPI_ERROR is not set by single-request completion; errors such as truncation come
      // back as MPI_Test's return code above.)
      int got = 0;
      MPI_Get_count(&st, type_, &got);
      if (got != expected_)
        return Status::error("received " + std::to_string(got) + " elements, expected " +
                             std::to_string(expected_));
    }
    return Status::ok();
  }

 private:
  MPI_Request req_ = MPI_REQUEST_NULL;
  long expected_;
  MPI_Datatype type_;
};

// Starts `call` (which fills an MPI_Request) and hands the request to *impl.
template <typename F>
Status start(const char* name, std::unique_ptr<RequestImpl>* impl, F&& call,
             std::unique_ptr<MpiRequest> req = std::make_unique<MpiRequest>()) {
  int rc = call(req->handle());
  if (rc != MPI_SUCCESS) return mpiError(name, rc);
  *impl = std::move(req);
  return Status::ok();
}

}  // namespace

Status mpiError(const char* call, int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
  return Status::error(std::string(call) + " failed: " +
                       (len > 0 ? std::string(text, len) : "error " + std::to_string(code)));
}

MpiCommunicator::MpiCommunicator(MPI_Comm comm, std::string name, int rank, int size,
                                 int worldRank, double timeoutSeconds)
    : Communicator(std::move(name), rank, size, worldRank, timeoutSeconds), comm_(comm) {}

StatusOr<std::unique_ptr<Communicator>> MpiCommunicator::adopt(MPI_Comm comm, std::string name,
                                                               double timeoutSeconds) {
  int rank = 0, size = 0, worldRank = 0;
  int rc = MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  if (rc == MPI_SUCCESS) rc = MPI_Comm_rank(comm, &rank);
  if (rc == MPI_SUCCESS) rc = MPI_Comm_size(comm, &size);
  if (rc == MPI_SUCCESS) rc = MPI_Comm_rank(MPI_COMM_WORLD, &worldRank);
  if (rc != MPI_SUCCESS) {
    MPI_Comm_free(&comm);
    return mpiError("MPI_Comm_rank", rc);
  }
  return std::unique_ptr<Communicator>(
      new MpiCommunicator(comm, std::move(name), rank, size, worldRank, timeoutSeconds));
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

Status MpiCommunicator::doAllReduce(const void* send, void* recv, size_t count, DataType t,
                                    ReduceOp op, std::unique_ptr<RequestImpl>* impl) {
  TESSERA_COMM_TRY(checkCount(count, "count"));
  const void* in = send == recv ? MPI_IN_PLACE : send;
  return start("MPI_Iallreduce", impl, [&](MPI_Request* r) {
    return MPI_Iallreduce(in, recv, static_cast<int>(count), mpiType(t), mpiOp(op), comm_, r);
  });
}

Status MpiCommunicator::doReduceScatter(const void* send, void* recv, size_t recvCount,
                                        DataType t, ReduceOp op,
                                        std::unique_ptr<RequestImpl>* impl) {
  TESSERA_COMM_TRY(checkCount(recvCount, "count"));
  return start("MPI_Ireduce_scatter_block", impl, [&](MPI_Request* r) {
    return MPI_Ireduce_scatter_block(send, recv, static_cast<int>(recvCount), mpiType(t),
                                     mpiOp(op), comm_, r);
  });
}

Status MpiCommunicator::doAllGather(const void* send, void* recv, size_t sendCount, DataType t,
                                    std::unique_ptr<RequestImpl>* impl) {
  TESSERA_COMM_TRY(checkCount(sendCount, "count"));
  int n = static_cast<int>(sendCount);
  return start("MPI_Iallgather", impl, [&](MPI_Request* r) {
    return MPI_Iallgather(send, n, mpiType(t), recv, n, mpiType(t), comm_, r);
  });
}

Status MpiCommunicator::doAllToAll(const void* send, void* recv, size_t chunkCount, DataType t,
                                   std::unique_ptr<RequestImpl>* impl) {
  TESSERA_COMM_TRY(checkCount(chunkCount, "chunk count"));
  int n = static_cast<int>(chunkCount);
  return start("MPI_Ialltoall", impl, [&](MPI_Request* r) {
    return MPI_Ialltoall(send, n, mpiType(t), recv, n, mpiType(t), comm_, r);
  });
}

// One tag for all point-to-point traffic: MPI keeps messages between a pair in order, which is
// the only matching rule NCCL offers too.
constexpr int kTag = 0x7e55;

Status MpiCommunicator::doSend(const void* buf, size_t count, DataType t, int peer,
                               std::unique_ptr<RequestImpl>* impl) {
  TESSERA_COMM_TRY(checkCount(count, "count"));
  return start("MPI_Isend", impl, [&](MPI_Request* r) {
    return MPI_Isend(buf, static_cast<int>(count), mpiType(t), peer, kTag, comm_, r);
  });
}

Status MpiCommunicator::doRecv(void* buf, size_t count, DataType t, int peer,
                               std::unique_ptr<RequestImpl>* impl) {
  TESSERA_COMM_TRY(checkCount(count, "count"));
  return start(
      "MPI_Irecv", impl,
      [&](MPI_Request* r) {
        return MPI_Irecv(buf, static_cast<int>(count), mpiType(t), peer, kTag, comm_, r);
      },
      std::make_unique<MpiRequest>(static_cast<long>(count), mpiType(t)));
}

Status MpiCommunicator::doBroadcast(void* buf, size_t count, DataType t, int root,
                                    std::unique_ptr<RequestImpl>* impl) {
  TESSERA_COMM_TRY(checkCount(count, "count"));
  return start("MPI_Ibcast", impl, [&](MPI_Request* r) {
    return MPI_Ibcast(buf, static_cast<int>(count), mpiType(t), root, comm_, r);
  });
}

Status MpiCommunicator::doBarrier(std::unique_ptr<RequestImpl>* impl) {
  return start("MPI_Ibarrier", impl, [&](MPI_Request* r) { return MPI_Ibarrier(comm_, r); });
}

StatusOr<std::unique_ptr<Communicator>> MpiCommunicator::doSplit(int color, int key,
                                                                 const std::string& name) {
  MPI_Comm sub = MPI_COMM_NULL;
  int rc = MPI_Comm_split(comm_, color, key, &sub);
  if (rc != MPI_SUCCESS) return mpiError("MPI_Comm_split", rc);
  return adopt(sub, name, timeoutSeconds());
}

void MpiCommunicator::onTimeout(const std::string& message) { abortJob(message, 3); }

}  // namespace tessera::comm::mpi
