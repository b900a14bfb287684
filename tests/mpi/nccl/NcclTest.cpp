// The NCCL backend on GPU ranks: bootstrap over MPI, collectives on device buffers, per-axis split.
// Skips (on every rank alike) when the build has no NCCL or the machine has no GPU — the case on
// these machines, where the point is that the backend compiles, links and starts.
#include <gtest/gtest.h>

#include <vector>

#include "comm/Mesh.h"
#include "tests/mpi/support/MpiTest.h"
#ifdef TESSERA_HAVE_NCCL
#include "comm/nccl/NcclRuntime.h"
#endif

using namespace tessera::comm;
using tessera::comm::testing_support::world;

#ifndef TESSERA_HAVE_NCCL
TEST(CommNccl, Collectives) { GTEST_SKIP() << "built without NCCL (no nccl.h in the toolkit)"; }
#else

namespace {

// Every rank must skip or run together, or the runners would wait for the skippers forever.
std::string gpuMissingOnAnyRank() {
  auto n = nccl::deviceCount();
  int32_t missing = n.isOk() ? 0 : 1, anyMissing = 0;
  Status s = world().allReduce(&missing, &anyMissing, 1, DataType::I32, ReduceOp::Max);
  if (!s.isOk()) return s.message();
  if (!anyMissing) return "";
  return "no GPU on some rank: " + (n.isOk() ? std::string("(another rank)") : n.status().message());
}

// A device copy of `host`, freed on scope exit.
struct DeviceVec {
  void* p = nullptr;
  size_t bytes = 0;
  explicit DeviceVec(size_t b) : bytes(b) {
    auto r = nccl::deviceAlloc(b);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    if (r.isOk()) p = *r;
  }
  ~DeviceVec() { nccl::deviceFree(p); }
};

}  // namespace

TEST(CommNccl, Collectives) {
  std::string why = gpuMissingOnAnyRank();
  if (!why.empty()) GTEST_SKIP() << why;
  auto comm = nccl::createWorld(world());
  ASSERT_TRUE(comm.isOk()) << comm.status().message();
  Communicator& c = **comm;
  const int n = 8, size = c.size(), rank = c.rank();

  std::vector<float> in(n), out(n);
  for (int i = 0; i < n; ++i) in[i] = float(rank * 10 + i);
  DeviceVec din(n * 4), dout(n * 4);
  ASSERT_TRUE(nccl::copyToDevice(din.p, in.data(), n * 4).isOk());
  ASSERT_TRUE(c.allReduce(din.p, dout.p, n, DataType::F32, ReduceOp::Sum).isOk());
  ASSERT_TRUE(nccl::copyToHost(out.data(), dout.p, n * 4).isOk());
  for (int i = 0; i < n; ++i) {
    float s = 0;
    for (int r = 0; r < size; ++r) s += float(r * 10 + i);
    EXPECT_EQ(out[i], s) << i;
  }

  // all_to_all: block p of rank r carries r*100 + p.
  std::vector<int32_t> send(size), recv(size, -1);
  for (int p = 0; p < size; ++p) send[p] = rank * 100 + p;
  DeviceVec ds(size * 4), dr(size * 4);
  ASSERT_TRUE(nccl::copyToDevice(ds.p, send.data(), size * 4).isOk());
  ASSERT_TRUE(c.allToAll(ds.p, dr.p, 1, DataType::I32).isOk());
  ASSERT_TRUE(nccl::copyToHost(recv.data(), dr.p, size * 4).isOk());
  for (int p = 0; p < size; ++p) EXPECT_EQ(recv[p], p * 100 + rank);

  EXPECT_TRUE(c.barrier().isOk());
}

TEST(CommNccl, PerAxisSplit) {
  std::string why = gpuMissingOnAnyRank();
  if (!why.empty()) GTEST_SKIP() << why;
  auto comm = nccl::createWorld(world());
  ASSERT_TRUE(comm.isOk()) << comm.status().message();
  MeshDesc mesh{{{"dp", 1}, {"tp", (*comm)->size()}}};
  auto tp = splitForAxes(**comm, mesh, {"tp"});
  ASSERT_TRUE(tp.isOk()) << tp.status().message();
  EXPECT_EQ((*tp)->size(), (*comm)->size());
  EXPECT_EQ((*tp)->rank(), (*comm)->rank());
}
#endif
