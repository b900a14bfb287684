// Local rank discovery from launcher variables (Open MPI first, then Slurm), through a fake
// environment.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "comm/LocalRank.h"

using namespace tessera::comm;

namespace {
StatusOr<std::optional<int>> localRankWith(std::map<std::string, std::string> env) {
  return localRankFromEnv([&](const char* k) -> const char* {
    auto it = env.find(k);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}
}  // namespace

TEST(CommLocalRank, OpenMpiVariableWinsOverSlurm) {
  auto r = localRankWith({{"OMPI_COMM_WORLD_LOCAL_RANK", "3"}, {"SLURM_LOCALID", "1"}});
  ASSERT_TRUE(r.isOk());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, 3);
}

TEST(CommLocalRank, SlurmWhenOpenMpiIsAbsent) {
  auto r = localRankWith({{"SLURM_LOCALID", "2"}, {"LOCAL_RANK", "7"}});
  ASSERT_TRUE(r.isOk());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, 2);
}

TEST(CommLocalRank, NothingSetMeansAskMpi) {
  auto r = localRankWith({});
  ASSERT_TRUE(r.isOk());
  EXPECT_FALSE(r->has_value());
}

TEST(CommLocalRank, GarbageIsAnErrorNamingTheVariable) {
  for (const char* bad : {"", "-1", "x", "1.5", "99999999999"}) {
    auto r = localRankWith({{"OMPI_COMM_WORLD_LOCAL_RANK", bad}});
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_NE(r.status().message().find("OMPI_COMM_WORLD_LOCAL_RANK='"), std::string::npos);
  }
}
