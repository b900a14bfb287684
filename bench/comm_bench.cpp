// all_reduce through Tessera's Communicator vs raw MPI, side by side in one mpirun job.
//
//   mpirun -np 2 --oversubscribe build/bench/comm_bench [--max-bytes N]
//
// For f32 sum all-reduces of 1 KiB .. 64 MiB it times, interleaved rep by rep so that machine noise
// hits every side alike:
//   mpi        MPI_Allreduce (Open MPI's tuned blocking collective) — the peer;
//   mpi-nb     MPI_Iallreduce + MPI_Wait — what Tessera's MPI backend issues underneath;
//   tessera    Communicator::allReduce (MPI_Iallreduce + MPI_Test polled against the timeout);
//   gather     the engine's deterministic all_reduce as it was for two ranks: all_gather of the
//              whole buffers, then reduceBlocks in rank order (codegen/dist/CollectiveCall.h);
//   pair       the engine's two-rank sum in halves (codegen/dist/PairReduce.h), what dp=2
//              gradients use now (same bits as gather; 2 ranks only).
// A rep's time is the slowest rank's. Rank 0 prints medians, bus bandwidth and the ratio
// tessera/mpi (> 1: Tessera slower). Results are checked once per size.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "codegen/dist/CollectiveCall.h"
#include "codegen/dist/PairReduce.h"
#include "comm/Communicator.h"
#include "comm/mpi/MpiRuntime.h"

using namespace tessera::comm;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Seconds of `op` on the slowest rank, starting together.
template <typename F>
double timeSlowest(MPI_Comm comm, F&& op) {
  MPI_Barrier(comm);
  double t0 = MPI_Wtime();
  op();
  double mine = MPI_Wtime() - t0, slowest = 0;
  MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, comm);
  return slowest;
}

}  // namespace

int main(int argc, char** argv) {
  Status init = mpi::initialize(&argc, &argv);
  if (!init.isOk()) {
    std::fprintf(stderr, "%s\n", init.message().c_str());
    return 2;
  }
  size_t maxBytes = size_t(64) << 20;
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], "--max-bytes")) maxBytes = std::strtoull(argv[i + 1], nullptr, 10);
  auto world = mpi::createWorld();
  if (!world.isOk()) mpi::abortJob(world.status().message(), 2);
  Communicator& c = **world;
  MPI_Comm raw;  // the peer gets its own communicator too, like Tessera's duplicate
  MPI_Comm_dup(MPI_COMM_WORLD, &raw);
  const int rank = c.rank(), size = c.size();

  if (rank == 0) {
    std::printf("comm_bench: f32 sum all_reduce, %d ranks, medians (slowest rank per rep)\n", size);
    std::printf("%10s %5s %12s %12s %12s %10s %10s %8s %12s %12s\n", "bytes", "reps", "mpi_us",
                "mpi-nb_us", "tessera_us", "mpi_GB/s", "tess_GB/s", "ratio", "gather_us",
                "pair_us");
  }
  int failures = 0;
  for (size_t bytes = 1024; bytes <= maxBytes; bytes *= 4) {
    const size_t n = bytes / sizeof(float);
    std::vector<float> in(n), out(n);
    for (size_t i = 0; i < n; ++i) in[i] = float((rank + 1) * (i % 7));
    const int reps = int(std::clamp<size_t>((size_t(256) << 20) / bytes, 9, 200));
    std::vector<double> tMpi, tNb, tTess, tGather, tPair;
    std::vector<float> gathered(size * n), outPair(n);
    for (int rep = -2; rep < reps; ++rep) {  // two warm-up reps
      double a = timeSlowest(raw, [&] {
        MPI_Allreduce(in.data(), out.data(), int(n), MPI_FLOAT, MPI_SUM, raw);
      });
      double b = timeSlowest(raw, [&] {
        MPI_Request r;
        MPI_Iallreduce(in.data(), out.data(), int(n), MPI_FLOAT, MPI_SUM, raw, &r);
        MPI_Wait(&r, MPI_STATUS_IGNORE);
      });
      double t = timeSlowest(raw, [&] {
        Status s = c.allReduce(in.data(), out.data(), n, DataType::F32, ReduceOp::Sum);
        if (!s.isOk()) mpi::abortJob(s.message(), 2);
      });
      double g = timeSlowest(raw, [&] {
        Status s = c.allGather(in.data(), gathered.data(), n, DataType::F32);
        if (!s.isOk()) mpi::abortJob(s.message(), 2);
        tessera::codegen::reduceBlocks(gathered.data(), int64_t(n) * 4, size, int64_t(n),
                                       tessera::ir::DType::F32, tessera::ir::ReduceOp::Sum,
                                       out.data());
      });
      double pr = 0;
      if (size == 2)
        pr = timeSlowest(raw, [&] {
          tessera::codegen::PairAllReduce pair;
          Status s = pair.start(c, in.data(), outPair.data(), int64_t(n), tessera::ir::DType::F32);
          if (s.isOk()) s = pair.finish(nullptr, nullptr);
          if (!s.isOk()) mpi::abortJob(s.message(), 2);
        });
      if (rep < 0) continue;
      tMpi.push_back(a);
      tNb.push_back(b);
      tTess.push_back(t);
      tGather.push_back(g);
      tPair.push_back(pr);
    }
    if (size == 2 && std::memcmp(out.data(), outPair.data(), n * sizeof(float)) != 0) ++failures;
    // out holds the gather path's last result: sum over ranks of (r+1)*(i%7).
    const float scale = float(size * (size + 1) / 2);
    for (size_t i = 0; i < n; ++i)
      if (out[i] != scale * float(i % 7)) {
        ++failures;
        break;
      }
    double mMpi = median(tMpi), mNb = median(tNb), mTess = median(tTess);
    // Bus bandwidth of a ring all-reduce: 2(p-1)/p of the buffer crosses each link.
    double busBytes = 2.0 * (size - 1) / size * double(bytes);
    if (rank == 0)
      std::printf("%10zu %5d %12.1f %12.1f %12.1f %10.2f %10.2f %8.2f %12.1f %12.1f\n", bytes,
                  reps, mMpi * 1e6, mNb * 1e6, mTess * 1e6, busBytes / mMpi / 1e9,
                  busBytes / mTess / 1e9, mTess / mMpi, median(tGather) * 1e6,
                  median(tPair) * 1e6);
  }
  int anyFailures = 0;
  MPI_Allreduce(&failures, &anyFailures, 1, MPI_INT, MPI_SUM, raw);
  if (rank == 0 && anyFailures) std::printf("comm_bench: WRONG RESULTS on %d size(s)\n", anyFailures);
  MPI_Comm_free(&raw);
  world->reset();
  (void)mpi::finalize();
  return anyFailures ? 1 : 0;
}
