// Meshes: device counts, axis lookups, sub-meshes and consistency checks.
#include <gtest/gtest.h>

#include "ir/Mesh.h"

namespace tessera::ir {
namespace {

TEST(Mesh, MakeAndLookups) {
  Mesh m = Mesh::make("m", {{"dp", 2}, {"tp", 4}});
  EXPECT_EQ(m.numDevices(), 8);
  EXPECT_EQ(m.devices, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(m.axisSize("tp"), 4);
  EXPECT_FALSE(m.axisSize("pp").has_value());
  EXPECT_EQ(m.axisIndex("tp"), 1);
  EXPECT_EQ(m.axisIndex("pp"), -1);
  EXPECT_TRUE(m.hasDefaultDeviceOrder());
  EXPECT_FALSE(m.isSubMesh());
  EXPECT_TRUE(m.check().isOk());
}

TEST(Mesh, SubMeshDevices) {
  Mesh m = Mesh::make("m", {{"pp", 2}, {"dp", 2}, {"tp", 2}});
  // Row-major: device = 4 pp + 2 dp + tp.
  auto s0 = Mesh::subMesh("stage1", m, {{"pp", 1}});
  ASSERT_TRUE(s0.isOk()) << s0.status().message();
  EXPECT_EQ(s0->parent, "m");
  EXPECT_TRUE(s0->isSubMesh());
  EXPECT_EQ(s0->axes, (std::vector<MeshAxis>{{"dp", 2}, {"tp", 2}}));
  EXPECT_EQ(s0->devices, (std::vector<int64_t>{4, 5, 6, 7}));
  EXPECT_TRUE(s0->check().isOk());

  auto s1 = Mesh::subMesh("mid", m, {{"dp", 1}});
  ASSERT_TRUE(s1.isOk());
  EXPECT_EQ(s1->devices, (std::vector<int64_t>{2, 3, 6, 7}));

  auto s2 = Mesh::subMesh("one", m, {{"tp", 0}, {"pp", 1}});
  ASSERT_TRUE(s2.isOk());
  EXPECT_EQ(s2->axes, (std::vector<MeshAxis>{{"dp", 2}}));
  EXPECT_EQ(s2->devices, (std::vector<int64_t>{4, 6}));

  // A permuted parent: the sub-mesh takes the parent's device ids at the slice.
  Mesh p = Mesh::make("p", {{"a", 2}, {"b", 2}});
  p.devices = {3, 2, 1, 0};
  auto s3 = Mesh::subMesh("row", p, {{"a", 0}});
  ASSERT_TRUE(s3.isOk());
  EXPECT_EQ(s3->devices, (std::vector<int64_t>{3, 2}));
}

TEST(Mesh, SubMeshErrors) {
  Mesh m = Mesh::make("m", {{"dp", 2}, {"tp", 4}});
  auto unknown = Mesh::subMesh("s", m, {{"pp", 0}});
  ASSERT_FALSE(unknown.isOk());
  EXPECT_EQ(unknown.status().message(), "error: mesh @m has no axis 'pp'");
  auto twice = Mesh::subMesh("s", m, {{"dp", 0}, {"dp", 1}});
  ASSERT_FALSE(twice.isOk());
  EXPECT_EQ(twice.status().message(), "error: axis 'dp' is fixed twice");
  auto range = Mesh::subMesh("s", m, {{"tp", 4}});
  ASSERT_FALSE(range.isOk());
  EXPECT_EQ(range.status().message(), "error: index 4 is out of range for axis 'tp' of size 4");
}

TEST(Mesh, CheckErrors) {
  Location loc{"mesh.tir", 2, 3};
  Mesh dup = Mesh::make("m", {{"dp", 2}, {"dp", 2}});
  dup.loc = loc;
  EXPECT_EQ(dup.check().message(), "mesh.tir:2:3: error: mesh @m has axis 'dp' twice");

  Mesh zero = Mesh::make("m", {{"dp", 0}});
  zero.loc = loc;
  EXPECT_EQ(zero.check().message(),
            "mesh.tir:2:3: error: mesh @m axis 'dp' has size 0; sizes must be positive");

  Mesh count = Mesh::make("m", {{"dp", 2}});
  count.loc = loc;
  count.devices = {0, 1, 2};
  EXPECT_EQ(count.check().message(),
            "mesh.tir:2:3: error: mesh @m lists 3 devices but its axes make 2");

  Mesh repeated = Mesh::make("m", {{"dp", 2}});
  repeated.loc = loc;
  repeated.devices = {1, 1};
  EXPECT_EQ(repeated.check().message(), "mesh.tir:2:3: error: mesh @m lists device 1 twice");

  Mesh negative = Mesh::make("m", {{"dp", 2}});
  negative.loc = loc;
  negative.devices = {0, -1};
  EXPECT_EQ(negative.check().message(), "mesh.tir:2:3: error: mesh @m has negative device id");
  EXPECT_FALSE(negative.hasDefaultDeviceOrder());
}

}  // namespace
}  // namespace tessera::ir
