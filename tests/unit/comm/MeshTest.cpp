// Mesh descriptions and the color/key of per-axis splits, checked against coordinates worked out
// by hand (row-major device order: the last axis varies fastest).
#include <gtest/gtest.h>

#include "comm/Mesh.h"

using namespace tessera::comm;

namespace {
MeshDesc mesh(const std::string& text) {
  auto m = parseMesh(text);
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? *m : MeshDesc{};
}
}  // namespace

TEST(CommMesh, ParsesNamesAndSizes) {
  MeshDesc m = mesh("dp=2,tp_x=3");
  ASSERT_EQ(m.axes.size(), 2u);
  EXPECT_EQ(m.axes[0].name, "dp");
  EXPECT_EQ(m.axes[1].name, "tp_x");
  EXPECT_EQ(m.axes[1].size, 3);
  EXPECT_EQ(m.deviceCount(), 6);
  EXPECT_EQ(m.str(), "dp=2,tp_x=3");
}

TEST(CommMesh, ParseErrorsNameTheAxis) {
  struct Case { const char* text; const char* needle; };
  for (Case c : {Case{"dp", "axis 'dp'"}, Case{"dp=0", "size must be > 0"},
                 Case{"dp=2,", "axis ''"}, Case{"=2", "empty axis name"},
                 Case{"d-p=2", "letters, digits"}, Case{"dp=x", "expected a size"},
                 Case{"dp=2,tp=-1", "axis 'tp=-1'"}}) {
    auto m = parseMesh(c.text);
    ASSERT_FALSE(m.isOk()) << c.text;
    EXPECT_NE(m.status().message().find(c.needle), std::string::npos) << m.status().message();
  }
}

TEST(CommMesh, ValidationRejectsWrongRankCountAndDuplicates) {
  EXPECT_TRUE(validateMesh(mesh("dp=2,tp=2"), 4).isOk());
  Status wrong = validateMesh(mesh("dp=3"), 4);
  EXPECT_NE(wrong.message().find("needs 3 ranks, but the job has 4"), std::string::npos)
      << wrong.message();
  Status twice = validateMesh(mesh("dp=2,dp=2"), 4);
  EXPECT_NE(twice.message().find("'dp' is named twice"), std::string::npos) << twice.message();
  EXPECT_FALSE(validateMesh(MeshDesc{}, 1).isOk());
  EXPECT_FALSE(validateMesh(mesh("a=65536,b=65536"), 4).isOk());  // product overflows int
}

TEST(CommMesh, CoordinatesAreRowMajor) {
  MeshDesc m = mesh("pp=2,dp=3,tp=2");
  // rank = pp*6 + dp*2 + tp
  EXPECT_EQ(meshCoords(m, 0), (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(meshCoords(m, 1), (std::vector<int>{0, 0, 1}));
  EXPECT_EQ(meshCoords(m, 5), (std::vector<int>{0, 2, 1}));
  EXPECT_EQ(meshCoords(m, 6), (std::vector<int>{1, 0, 0}));
  EXPECT_EQ(meshCoords(m, 11), (std::vector<int>{1, 2, 1}));
}

TEST(CommMesh, TpGroupsShareDpAndDpGroupsShareTp) {
  MeshDesc m = mesh("dp=2,tp=2");
  // ranks 0,1 are dp=0; ranks 0,2 are tp=0.
  for (int r = 0; r < 4; ++r) {
    auto tp = axisGroup(m, {"tp"}, r);
    auto dp = axisGroup(m, {"dp"}, r);
    ASSERT_TRUE(tp.isOk() && dp.isOk());
    EXPECT_EQ(tp->color, r / 2);
    EXPECT_EQ(tp->key, r % 2);
    EXPECT_EQ(tp->groupSize, 2);
    EXPECT_EQ(dp->color, r % 2);
    EXPECT_EQ(dp->key, r / 2);
  }
}

TEST(CommMesh, AxisSetKeyFollowsTheListedOrder) {
  MeshDesc m = mesh("pp=2,dp=3,tp=2");
  for (int r = 0; r < 12; ++r) {
    int pp = r / 6, dp = (r / 2) % 3, tp = r % 2;
    auto a = axisGroup(m, {"dp", "tp"}, r);
    auto b = axisGroup(m, {"tp", "dp"}, r);
    ASSERT_TRUE(a.isOk() && b.isOk());
    EXPECT_EQ(a->color, pp);
    EXPECT_EQ(a->key, dp * 2 + tp);
    EXPECT_EQ(a->groupSize, 6);
    EXPECT_EQ(b->color, pp);
    EXPECT_EQ(b->key, tp * 3 + dp);
    auto pt = axisGroup(m, {"pp", "tp"}, r);
    ASSERT_TRUE(pt.isOk());
    EXPECT_EQ(pt->color, dp);
    EXPECT_EQ(pt->key, pp * 2 + tp);
  }
}

TEST(CommMesh, AxisSetErrors) {
  MeshDesc m = mesh("dp=2,tp=2");
  auto unknown = axisGroup(m, {"ep"}, 0);
  EXPECT_NE(unknown.status().message().find("no axis named 'ep'"), std::string::npos);
  auto twice = axisGroup(m, {"tp", "tp"}, 0);
  EXPECT_NE(twice.status().message().find("'tp' listed twice"), std::string::npos);
  EXPECT_FALSE(axisGroup(m, {}, 0).isOk());
}
