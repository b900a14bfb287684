// The MPI runtime around the communicators: local rank discovery (launcher variable, then MPI's
// shared-memory split) and a malformed timeout variable, under mpirun on one node.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "comm/mpi/MpiRuntime.h"
#include "tests/mpi/support/MpiTest.h"

using namespace tessera::comm;
using tessera::comm::testing_support::world;

namespace {
// Sets or unsets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    if (old) old_ = old;
    had_ = old != nullptr;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_)
      setenv(name_, old_.c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};
}  // namespace

TEST(CommRuntime, LocalRankOnOneNodeIsTheWorldRank) {
  // mpirun started every rank on this machine, so local and world ranks coincide.
  ASSERT_NE(std::getenv("OMPI_COMM_WORLD_LOCAL_RANK"), nullptr);
  auto fromEnv = mpi::localRank();
  ASSERT_TRUE(fromEnv.isOk()) << fromEnv.status().message();
  EXPECT_EQ(*fromEnv, world().rank());
  // Without launcher variables the answer comes from MPI_Comm_split_type (a collective: every
  // rank takes this path together).
  ScopedEnv a("OMPI_COMM_WORLD_LOCAL_RANK", nullptr), b("SLURM_LOCALID", nullptr);
  auto fromMpi = mpi::localRank();
  ASSERT_TRUE(fromMpi.isOk()) << fromMpi.status().message();
  EXPECT_EQ(*fromMpi, world().rank());
}

TEST(CommRuntime, MalformedTimeoutVariableIsAnErrorBeforeAnyCollective) {
  ScopedEnv t("TESSERA_COLLECTIVE_TIMEOUT_S", "ten minutes");
  auto w = mpi::createWorld();
  ASSERT_FALSE(w.isOk());
  EXPECT_NE(w.status().message().find("TESSERA_COLLECTIVE_TIMEOUT_S='ten minutes'"),
            std::string::npos)
      << w.status().message();
}

TEST(CommRuntime, WorldTimeoutComesFromTheEnvironment) {
  ScopedEnv t("TESSERA_COLLECTIVE_TIMEOUT_S", "7.5");
  auto w = mpi::createWorld();  // collective: MPI_Comm_dup on every rank
  ASSERT_TRUE(w.isOk()) << w.status().message();
  EXPECT_EQ((*w)->timeoutSeconds(), 7.5);
  EXPECT_EQ((*w)->size(), world().size());
  EXPECT_EQ((*w)->rank(), world().rank());
}
