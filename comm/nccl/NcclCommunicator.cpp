// NCCL backend of Communicator and its MPI bootstrap (see NcclRuntime.h).
//
// Every operation is enqueued on the communicator's stream and followed by an event; the Request
// polls the event (and NCCL's async error) so that waits share the deadline logic of every backend.
// On a timeout the NCCL communicator is aborted first — a kernel stuck in a collective would
// otherwise keep the device busy — and then the MPI job ends.
#include <cuda_runtime.h>
#include <nccl.h>

#include "comm/Timeout.h"
#include "comm/mpi/MpiRuntime.h"
#include "comm/nccl/NcclRuntime.h"

namespace tessera::comm::nccl {

namespace {

ncclDataType_t ncclType(DataType t) {
  switch (t) {
    case DataType::F32: return ncclFloat32;
    case DataType::F64: return ncclFloat64;
    case DataType::I32: return ncclInt32;
    case DataType::I64: return ncclInt64;
  }
  return ncclFloat32;
}

ncclRedOp_t ncclOp(ReduceOp op) { return op == ReduceOp::Sum ? ncclSum : ncclMax; }

Status cudaError(const char* call, cudaError_t e) {
  return Status::error(std::string(call) + " failed: " + cudaGetErrorString(e));
}
Status ncclError(const char* call, ncclResult_t r) {
  return Status::error(std::string(call) + " failed: " + ncclGetErrorString(r));
}

#define TESSERA_CUDA_TRY(call)                                 \
  do {                                                         \
    cudaError_t _e = (call);                                   \
    if (_e != cudaSuccess) return cudaError(#call, _e);        \
  } while (0)
#define TESSERA_NCCL_TRY(call)                                 \
  do {                                                         \
    ncclResult_t _r = (call);                                  \
    if (_r != ncclSuccess) return ncclError(#call, _r);        \
  } while (0)

class NcclRequest final : public RequestImpl {
 public:
  NcclRequest(ncclComm_t comm, cudaEvent_t event) : comm_(comm), event_(event) {}
  ~NcclRequest() override { cudaEventDestroy(event_); }

  Status test(bool* done) override {
    ncclResult_t async = ncclSuccess;
    TESSERA_NCCL_TRY(ncclCommGetAsyncError(comm_, &async));
    if (async != ncclSuccess) return ncclError("NCCL operation", async);
    cudaError_t e = cudaEventQuery(event_);
    if (e == cudaErrorNotReady) {
      *done = false;
      return Status::ok();
    }
    if (e != cudaSuccess) return cudaError("cudaEventQuery", e);
    *done = true;
    return Status::ok();
  }

 private:
  ncclComm_t comm_;
  cudaEvent_t event_;
};

class NcclCommunicator final : public Communicator {
 public:
  static StatusOr<std::unique_ptr<Communicator>> adopt(ncclComm_t comm, std::string name,
                                                       int worldRank, double timeoutSeconds) {
    int rank = 0, size = 0;
    TESSERA_NCCL_TRY(ncclCommUserRank(comm, &rank));
    TESSERA_NCCL_TRY(ncclCommCount(comm, &size));
    cudaStream_t stream = nullptr;
    TESSERA_CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    void* scratch = nullptr;
    TESSERA_CUDA_TRY(cudaMalloc(&scratch, sizeof(int32_t)));
    return std::unique_ptr<Communicator>(new NcclCommunicator(
        comm, stream, scratch, std::move(name), rank, size, worldRank, timeoutSeconds));
  }

  ~NcclCommunicator() override {
    cudaStreamSynchronize(stream_);
    ncclCommDestroy(comm_);
    cudaFree(scratch_);
    cudaStreamDestroy(stream_);
  }

 protected:
  Status doAllReduce(const void* send, void* recv, size_t count, DataType t, ReduceOp op,
                     std::unique_ptr<RequestImpl>* impl) override {
    TESSERA_NCCL_TRY(ncclAllReduce(send, recv, count, ncclType(t), ncclOp(op), comm_, stream_));
    return record(impl);
  }
  Status doReduceScatter(const void* send, void* recv, size_t recvCount, DataType t, ReduceOp op,
                         std::unique_ptr<RequestImpl>* impl) override {
    TESSERA_NCCL_TRY(
        ncclReduceScatter(send, recv, recvCount, ncclType(t), ncclOp(op), comm_, stream_));
    return record(impl);
  }
  Status doAllGather(const void* send, void* recv, size_t sendCount, DataType t,
                     std::unique_ptr<RequestImpl>* impl) override {
    TESSERA_NCCL_TRY(ncclAllGather(send, recv, sendCount, ncclType(t), comm_, stream_));
    return record(impl);
  }
  // NCCL has no all-to-all primitive: one send and one receive per peer, fused by a group so
  // that no pair waits on another.
  Status doAllToAll(const void* send, void* recv, size_t chunkCount, DataType t,
                    std::unique_ptr<RequestImpl>* impl) override {
    const size_t bytes = chunkCount * sizeOf(t);
    TESSERA_NCCL_TRY(ncclGroupStart());
    for (int p = 0; p < size(); ++p) {
      ncclResult_t r = ncclSend(static_cast<const char*>(send) + p * bytes, chunkCount,
                                ncclType(t), p, comm_, stream_);
      if (r == ncclSuccess)
        r = ncclRecv(static_cast<char*>(recv) + p * bytes, chunkCount, ncclType(t), p, comm_,
                     stream_);
      if (r != ncclSuccess) {
        ncclGroupEnd();
        return ncclError("ncclSend/ncclRecv", r);
      }
    }
    TESSERA_NCCL_TRY(ncclGroupEnd());
    return record(impl);
  }
  Status doSend(const void* buf, size_t count, DataType t, int peer,
                std::unique_ptr<RequestImpl>* impl) override {
    TESSERA_NCCL_TRY(ncclGroupStart());
    ncclResult_t r = ncclSend(buf, count, ncclType(t), peer, comm_, stream_);
    TESSERA_NCCL_TRY(ncclGroupEnd());
    if (r != ncclSuccess) return ncclError("ncclSend", r);
    return record(impl);
  }
  Status doRecv(void* buf, size_t count, DataType t, int peer,
                std::unique_ptr<RequestImpl>* impl) override {
    TESSERA_NCCL_TRY(ncclGroupStart());
    ncclResult_t r = ncclRecv(buf, count, ncclType(t), peer, comm_, stream_);
    TESSERA_NCCL_TRY(ncclGroupEnd());
    if (r != ncclSuccess) return ncclError("ncclRecv", r);
    return record(impl);
  }
  Status doBroadcast(void* buf, size_t count, DataType t, int root,
                     std::unique_ptr<RequestImpl>* impl) override {
    TESSERA_NCCL_TRY(ncclBroadcast(buf, buf, count, ncclType(t), root, comm_, stream_));
    return record(impl);
  }
  // NCCL has no barrier: an all-reduce of one integer completes only once every rank joined.
  Status doBarrier(std::unique_ptr<RequestImpl>* impl) override {
    TESSERA_NCCL_TRY(ncclAllReduce(scratch_, scratch_, 1, ncclInt32, ncclSum, comm_, stream_));
    return record(impl);
  }
  StatusOr<std::unique_ptr<Communicator>> doSplit(int color, int key,
                                                  const std::string& name) override {
    ncclComm_t sub = nullptr;
    TESSERA_NCCL_TRY(ncclCommSplit(comm_, color, key, &sub, nullptr));
    return adopt(sub, name, worldRank(), timeoutSeconds());
  }
  void onTimeout(const std::string& message) override {
    ncclCommAbort(comm_);
    mpi::abortJob(message, 3);
  }

 private:
  NcclCommunicator(ncclComm_t comm, cudaStream_t stream, void* scratch, std::string name,
                   int rank, int size, int worldRank, double timeoutSeconds)
      : Communicator(std::move(name), rank, size, worldRank, timeoutSeconds), comm_(comm),
        stream_(stream), scratch_(scratch) {}

  Status record(std::unique_ptr<RequestImpl>* impl) {
    cudaEvent_t event = nullptr;
    TESSERA_CUDA_TRY(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
    cudaError_t e = cudaEventRecord(event, stream_);
    if (e != cudaSuccess) {
      cudaEventDestroy(event);
      return cudaError("cudaEventRecord", e);
    }
    *impl = std::make_unique<NcclRequest>(comm_, event);
    return Status::ok();
  }

  ncclComm_t comm_;
  cudaStream_t stream_;
  void* scratch_;  // one int on the device, for barrier()
};

}  // namespace

StatusOr<int> deviceCount() {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) return cudaError("cudaGetDeviceCount", e);
  if (n == 0) return Status::error("cudaGetDeviceCount: no CUDA device");
  return n;
}

StatusOr<std::unique_ptr<Communicator>> createWorld(Communicator& mpiWorld) {
  auto timeout = timeoutSecondsFromEnvironment(DeviceKind::Gpu);
  if (!timeout.isOk()) return timeout.status();
  auto devices = deviceCount();
  if (!devices.isOk()) return devices.status();
  auto local = mpi::localRank();
  if (!local.isOk()) return local.status();
  if (*local >= *devices)
    return Status::error("local rank " + std::to_string(*local) + " has no GPU: only " +
                         std::to_string(*devices) + " visible (one GPU per rank)");
  // The device must be bound before NCCL touches CUDA, or every rank lands on device 0.
  TESSERA_CUDA_TRY(cudaSetDevice(*local));

  ncclUniqueId id;
  static_assert(sizeof(id) % sizeof(int32_t) == 0, "unique id is broadcast as int32 words");
  if (mpiWorld.rank() == 0) TESSERA_NCCL_TRY(ncclGetUniqueId(&id));
  TESSERA_COMM_TRY(mpiWorld.broadcast(&id, sizeof(id) / sizeof(int32_t), DataType::I32, 0));
  ncclComm_t comm = nullptr;
  TESSERA_NCCL_TRY(ncclCommInitRank(&comm, mpiWorld.size(), id, mpiWorld.rank()));
  return NcclCommunicator::adopt(comm, "world", mpiWorld.worldRank(), *timeout);
}

StatusOr<void*> deviceAlloc(size_t bytes) {
  void* p = nullptr;
  TESSERA_CUDA_TRY(cudaMalloc(&p, bytes));
  return p;
}

void deviceFree(void* p) { cudaFree(p); }

Status copyToDevice(void* dst, const void* src, size_t bytes) {
  TESSERA_CUDA_TRY(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
  return Status::ok();
}

Status copyToHost(void* dst, const void* src, size_t bytes) {
  TESSERA_CUDA_TRY(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
  return Status::ok();
}

}  // namespace tessera::comm::nccl
