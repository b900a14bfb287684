// main() of every multi-rank gtest executable: starts MPI, builds the world communicator, runs the
// tests on every rank, and exits non-zero on every rank if any rank failed.
//
// Only rank 0 prints gtest's usual output; other ranks print their failures only, prefixed with
// their rank, so one failing rank is visible without four interleaved copies of every line.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "comm/mpi/MpiRuntime.h"
#include "tests/mpi/support/MpiTest.h"

namespace tessera::comm::testing_support {

namespace {
std::unique_ptr<Communicator> gWorld;

class FailuresOnly : public ::testing::EmptyTestEventListener {
 public:
  explicit FailuresOnly(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_,
                 r.file_name() ? r.file_name() : "?", r.line_number(), r.message());
  }

 private:
  int rank_;
};
}  // namespace

Communicator& world() { return *gWorld; }

}  // namespace tessera::comm::testing_support

int main(int argc, char** argv) {
  using namespace tessera::comm;
  Status init = mpi::initialize(&argc, &argv);
  if (!init.isOk()) {
    std::fprintf(stderr, "%s\n", init.message().c_str());
    return 2;
  }
  ::testing::InitGoogleTest(&argc, argv);
  auto world = mpi::createWorld();
  if (!world.isOk()) mpi::abortJob(world.status().message(), 2);
  testing_support::gWorld = std::move(*world);
  const int rank = testing_support::gWorld->rank();
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new testing_support::FailuresOnly(rank));
  }
  int32_t failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int32_t anyFailed = failed;
  Status s = testing_support::gWorld->allReduce(&failed, &anyFailed, 1, DataType::I32,
                                                ReduceOp::Max);
  if (!s.isOk()) mpi::abortJob(s.message(), 2);
  if (rank == 0 && anyFailed && !failed)
    std::fprintf(stderr, "rank 0 passed, but another rank failed (see [rank N] lines)\n");
  testing_support::gWorld.reset();
  (void)mpi::finalize();
  return anyFailed;
}
