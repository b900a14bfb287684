// The `--mesh` flag: named axes, product = rank count, and clear errors for bad meshes.
#include <gtest/gtest.h>

#include "partition/mesh/MeshSpec.h"

namespace tessera::partition {
namespace {

TEST(MeshSpec, ParsesNamedAxesInOrder) {
  auto m = parseMeshSpec("dp=2,tp=4");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  ASSERT_EQ(m->axes.size(), 2u);
  EXPECT_EQ(m->axes[0], (ir::MeshAxis{"dp", 2}));
  EXPECT_EQ(m->axes[1], (ir::MeshAxis{"tp", 4}));
  EXPECT_EQ(m->numDevices(), 8);
  EXPECT_TRUE(m->check().isOk());
  EXPECT_TRUE(checkMeshRanks(*m, 8).isOk());
  auto one = parseMeshSpec(" ep = 3 ");
  ASSERT_TRUE(one.isOk()) << one.status().message();
  EXPECT_EQ(one->axes[0], (ir::MeshAxis{"ep", 3}));
}

void expectError(const std::string& spec, const std::string& needle) {
  auto m = parseMeshSpec(spec);
  ASSERT_FALSE(m.isOk()) << spec;
  EXPECT_NE(m.status().message().find(needle), std::string::npos)
      << spec << " -> " << m.status().message();
  EXPECT_NE(m.status().message().find("--mesh"), std::string::npos) << m.status().message();
}

TEST(MeshSpec, BadMeshesAreClearErrors) {
  expectError("dp=2,dp=2", "axis 'dp' named twice");
  expectError("dp=0", "must be positive");
  expectError("dp=-2", "must be positive");
  expectError("dp=two", "must be a positive integer, got 'two'");
  expectError("dp=2.5", "must be a positive integer");
  expectError("dp", "must be NAME=SIZE");
  expectError("", "empty mesh");
  expectError("dp=2,", "empty axis entry");
  expectError("2=2", "not an identifier");
  expectError("dp=99999999999", "positive integer");
}

TEST(MeshSpec, RankCountMustMatch) {
  auto m = parseMeshSpec("dp=2,tp=2");
  ASSERT_TRUE(m.isOk());
  Status s = checkMeshRanks(*m, 2);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("4 devices but the job has 2 ranks"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tessera::partition
