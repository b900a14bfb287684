// How a rank runs its collectives unless told otherwise, per device kind, and the environment
// variables that override it (read by the launcher before the engine is compiled: the async
// schedule and the buckets are fixed at compile time).
//
// CPU ranks block: every collective runs where the program has it, no start/done split, no
// buckets. A CPU rank moves its bytes with its own core (shared-memory copies, the reduction), so
// overlap can hide only the time spent waiting for the peer — and Open MPI's nonblocking
// collectives advance only inside MPI calls (the engine polls between thunks, not inside a 40 ms
// GEMM), through libnbc schedules instead of the tuned blocking algorithms; and a bucket costs
// its own core a pack and an unpack copy. Measured on a quiet machine, 2 ranks x 1 thread,
// dp=2 (bench/ddp_bench.py, medians): blocking 0.266 s vs async 0.293 s per GPT-small step,
// 5.20 vs 5.73 s per GPT-base step. bench/engine_dist_bench repeats the A/B (interleaved rounds,
// bucket sizes 1/4/16 MiB and none) with the exposed, in-flight and hidden time of each.
// GPU ranks overlap: NCCL runs on its own stream, so start/done with 4 MiB buckets really hides
// the transfer behind the compute kernels.
//
//   TESSERA_DIST_ASYNC=1|0          async start/done schedule on or off
//   TESSERA_DIST_BUCKET_BYTES=N     gradient bucket cap in bytes when async (0: no buckets)
#pragma once

#include "codegen/dist/RankContext.h"
#include "comm/Timeout.h"

namespace tessera::codegen {

inline constexpr const char* kDistAsyncEnvVar = "TESSERA_DIST_ASYNC";
inline constexpr const char* kDistBucketBytesEnvVar = "TESSERA_DIST_BUCKET_BYTES";

DistOptions defaultDistOptions(comm::DeviceKind kind);

// defaultDistOptions(kind) with the overrides above; `async` and `bucketBytes` are the values of
// the two variables (null: unset; separate from getenv so tests need not touch the environment).
// A value that is not one of the accepted forms is an error naming the variable.
StatusOr<DistOptions> resolveDistOptions(comm::DeviceKind kind, const char* async,
                                         const char* bucketBytes);
StatusOr<DistOptions> distOptionsFromEnvironment(comm::DeviceKind kind);

}  // namespace tessera::codegen
