// The NCCL backend's entry points (compiled only when TESSERA_HAVE_NCCL is defined; see
// comm/CMakeLists.txt).
//
// GPU ranks communicate through NCCL, bootstrapped over MPI: each rank selects its device by local
// rank (cudaSetDevice, before any NCCL call), rank 0 creates the unique id, the MPI world broadcasts
// it, and every rank joins with ncclCommInitRank. Per-axis communicators then come from
// splitForAxes (ncclCommSplit). Buffers handed to these communicators are device pointers; every
// operation runs on the communicator's own stream and completes when its event has fired.
#pragma once

#include <cstddef>
#include <memory>

#include "comm/Communicator.h"
#include "comm/Status.h"

namespace tessera::comm::nccl {

// Number of visible CUDA devices. Without a device or driver cudaGetDeviceCount fails; that comes
// back as an error carrying CUDA's message (callers treat it as "no GPU").
StatusOr<int> deviceCount();

// Collective over `mpiWorld` (an MPI world communicator): binds this rank's device and builds the
// NCCL world communicator. Timeout: TESSERA_COLLECTIVE_TIMEOUT_S, else the GPU default.
StatusOr<std::unique_ptr<Communicator>> createWorld(Communicator& mpiWorld);

// Device memory for NCCL buffers, so that callers (tests, the runtime) need no CUDA headers.
StatusOr<void*> deviceAlloc(size_t bytes);
void deviceFree(void* p);
Status copyToDevice(void* dst, const void* src, size_t bytes);
Status copyToHost(void* dst, const void* src, size_t bytes);

}  // namespace tessera::comm::nccl
