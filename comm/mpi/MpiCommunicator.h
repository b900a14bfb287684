// The MPI implementation of Communicator: one MPI communicator, nonblocking MPI_I* calls for every
// operation, MPI_Test behind wait/test (so waits can time out; see Timeout.h).
//
// Internal to comm/: callers get Communicators from mpi::createWorld() and splitForAxes().
#pragma once

#include <mpi.h>

#include <memory>
#include <string>

#include "comm/Communicator.h"

namespace tessera::comm::mpi {

class MpiCommunicator final : public Communicator {
 public:
  // Takes ownership of `comm` (freed on destruction). Errors on it return codes (MPI_ERRORS_RETURN).
  static StatusOr<std::unique_ptr<Communicator>> adopt(MPI_Comm comm, std::string name,
                                                       double timeoutSeconds);
  ~MpiCommunicator() override;

  MPI_Comm handle() const { return comm_; }

 protected:
  Status doAllReduce(const void* send, void* recv, size_t count, DataType t, ReduceOp op,
                     std::unique_ptr<RequestImpl>* impl) override;
  Status doReduceScatter(const void* send, void* recv, size_t recvCount, DataType t, ReduceOp op,
                         std::unique_ptr<RequestImpl>* impl) override;
  Status doAllGather(const void* send, void* recv, size_t sendCount, DataType t,
                     std::unique_ptr<RequestImpl>* impl) override;
  Status doAllToAll(const void* send, void* recv, size_t chunkCount, DataType t,
                    std::unique_ptr<RequestImpl>* impl) override;
  Status doSend(const void* buf, size_t count, DataType t, int peer,
                std::unique_ptr<RequestImpl>* impl) override;
  Status doRecv(void* buf, size_t count, DataType t, int peer,
                std::unique_ptr<RequestImpl>* impl) override;
  Status doBroadcast(void* buf, size_t count, DataType t, int root,
                     std::unique_ptr<RequestImpl>* impl) override;
  Status doBarrier(std::unique_ptr<RequestImpl>* impl) override;
  StatusOr<std::unique_ptr<Communicator>> doSplit(int color, int key,
                                                  const std::string& name) override;
  void onTimeout(const std::string& message) override;

 private:
  MpiCommunicator(MPI_Comm comm, std::string name, int rank, int size, int worldRank,
                  double timeoutSeconds);
  MPI_Comm comm_;
};

// "MPI_Iallreduce: <MPI's error string>"
Status mpiError(const char* call, int code);

}  // namespace tessera::comm::mpi
