// Shardings: the text forms and the checks against a mesh.
#include <gtest/gtest.h>

#include "ir/Sharding.h"

namespace tessera::ir {
namespace {

DimSharding split(std::vector<std::string> axes, std::optional<int> priority = {}) {
  return DimSharding{std::move(axes), false, priority};
}
DimSharding none() { return DimSharding{}; }
DimSharding open() { return DimSharding{{}, true, {}}; }

TEST(Sharding, TextForms) {
  Sharding a;
  a.dims = {split({"dp"}), none()};
  EXPECT_EQ(a.str(), "{dp, -}");

  Sharding b;
  b.dims = {split({"dp", "tp"}), open()};
  EXPECT_EQ(b.str(), "{(dp,tp), ?}");

  Sharding c;
  c.dims = {split({"dp"}, 1), none()};
  EXPECT_EQ(c.str(), "{dp:p1, -}");

  Sharding d = Sharding::replicated(2);
  d.partial = {{"tp", PartialKind::Sum}};
  EXPECT_EQ(d.str(), "{-, -} partial{tp:sum}");

  Sharding e;
  e.mesh = "m2";
  e.dims = {split({"dp"}), none()};
  e.partial = {{"tp", PartialKind::Max}, {"ep", PartialKind::Sum}};
  EXPECT_EQ(e.str(), "@m2{dp, -} partial{tp:max, ep:sum}");

  EXPECT_EQ(Sharding::replicated(0).str(), "{}");
  EXPECT_EQ(Sharding::open(2).str(), "{?, ?}");
}

TEST(Sharding, Queries) {
  EXPECT_TRUE(Sharding::replicated(3).isFullyReplicated());
  EXPECT_FALSE(Sharding::open(1).isFullyReplicated());
  Sharding p = Sharding::replicated(1);
  p.partial = {{"tp", PartialKind::Sum}};
  EXPECT_FALSE(p.isFullyReplicated());
  Sharding s;
  s.dims = {split({"dp", "sp"}), split({"tp"})};
  s.partial = {{"ep", PartialKind::Sum}};
  EXPECT_EQ(s.usedAxes(), (std::vector<std::string>{"dp", "sp", "tp", "ep"}));
}

TEST(Sharding, CheckAgainstAMesh) {
  Mesh m = Mesh::make("m", {{"dp", 2}, {"tp", 4}});
  Location loc{"s.tir", 4, 9};
  Sharding ok;
  ok.dims = {split({"dp"}), split({"tp"})};
  EXPECT_TRUE(ok.check(m, 2, loc).isOk());
  EXPECT_EQ(ok.check(m, 3, loc).message(),
            "s.tir:4:9: error: sharding {dp, tp} has 2 dimensions but the value has rank 3");

  Sharding unknown;
  unknown.dims = {split({"pp"})};
  EXPECT_EQ(unknown.check(m, 1, loc).message(),
            "s.tir:4:9: error: sharding {pp} names axis 'pp' which mesh @m does not have");

  Sharding twice;
  twice.dims = {split({"dp"}), split({"dp"})};
  EXPECT_EQ(twice.check(m, 2, loc).message(),
            "s.tir:4:9: error: sharding {dp, dp} uses axis 'dp' more than once");

  Sharding partialTwice = Sharding::replicated(1);
  partialTwice.dims = {split({"tp"})};
  partialTwice.partial = {{"tp", PartialKind::Sum}};
  EXPECT_EQ(partialTwice.check(m, 1, loc).message(),
            "s.tir:4:9: error: sharding {tp} partial{tp:sum} uses axis 'tp' more than once");

  Sharding openWithAxes;
  openWithAxes.dims = {DimSharding{{"dp"}, true, {}}};
  EXPECT_EQ(openWithAxes.check(m, 1, loc).message(),
            "s.tir:4:9: error: sharding {?}: an open dimension cannot list axes");

  Sharding negativePriority;
  negativePriority.dims = {split({"dp"}, -1)};
  EXPECT_EQ(negativePriority.check(m, 1, loc).message(),
            "s.tir:4:9: error: sharding {dp:p-1}: priorities must be non-negative");
}

}  // namespace
}  // namespace tessera::ir
