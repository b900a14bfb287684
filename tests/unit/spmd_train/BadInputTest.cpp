// Bad plans are rejected by partitionStep before anything runs, each with the location of what
// is wrong: a user sharding of a dim that cannot be split, a preset whose axis the mesh lacks, an
// axis used twice in one sharding.
#include <gtest/gtest.h>

#include "ir/Parser.h"
#include "partition/mesh/MeshSpec.h"
#include "partition/plan/PartitionStep.h"

namespace tessera::partition {
namespace {

StatusOr<PartitionedStep> planText(const std::string& text, const std::string& mesh,
                                   PresetOptions presets = {}) {
  auto m = ir::parseModule(text, "bad.tir");
  if (!m.isOk()) return m.status();
  auto me = parseMeshSpec(mesh);
  EXPECT_TRUE(me.isOk());
  static std::vector<std::unique_ptr<ir::Module>> keep;  // the plan points into the module
  keep.push_back(std::move(*m));
  return partitionStep(*keep.back(), "f", {*me, presets, {}});
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(BadPlans, SplittingADimSmallerThanTheAxisIsAnErrorAtTheValue) {
  auto r = planText(R"(module @t {
  mesh @m = <tp=4>
  func @f(%x: f32[2,8] {tp, -}) -> f32[2,8] {
    %y = exp %x : f32[2,8]
    return %y
  }
})", "tp=4");
  ASSERT_FALSE(r.isOk());
  const std::string& msg = r.status().message();
  EXPECT_TRUE(contains(msg, "bad.tir:3:")) << msg;  // the function that holds %x
  EXPECT_TRUE(contains(msg, "%x")) << msg;
  EXPECT_TRUE(contains(msg, "fewer elements than devices")) << msg;
}

TEST(BadPlans, SplittingASymbolicDimWithoutDivisibilityIsAnError) {
  auto r = planText(R"(module @t {
  mesh @m = <dp=2>
  sym B
  func @f(%x: f32[B,8] {dp, -}) -> f32[B,8] {
    %y = exp %x : f32[B,8]
    return %y
  }
})", "dp=2");
  ASSERT_FALSE(r.isOk());
  const std::string& msg = r.status().message();
  EXPECT_TRUE(contains(msg, "bad.tir:4:")) << msg;
  EXPECT_TRUE(contains(msg, "sym B divisible_by 2")) << msg;
  // With the fact declared, the same plan is fine.
  auto ok = planText(R"(module @t {
  mesh @m = <dp=2>
  sym B divisible_by 2
  func @f(%x: f32[B,8] {dp, -}) -> f32[B,8] {
    %y = exp %x : f32[B,8]
    return %y
  }
})", "dp=2");
  EXPECT_TRUE(ok.isOk()) << ok.status().message();
}

TEST(BadPlans, AnInnerValueSplitTooFinelyIsAnErrorAtItsOp) {
  auto r = planText(R"(module @t {
  mesh @m = <tp=4>
  func @f(%x: f32[3,8]) -> f32[3,8] {
    %y = exp %x : f32[3,8] {tp, -}
    return %y
  }
})", "tp=4");
  ASSERT_FALSE(r.isOk());
  EXPECT_TRUE(contains(r.status().message(), "bad.tir:4:")) << r.status().message();
  EXPECT_TRUE(contains(r.status().message(), "%y")) << r.status().message();
}

TEST(BadPlans, APresetAxisTheMeshLacksIsAnError) {
  PresetOptions o;
  o.megatron = true;
  auto r = planText(R"(module @t {
  func @f(%x: f32[4,8]) -> f32[4,8] {
    %y = exp %x : f32[4,8]
    return %y
  }
})", "dp=2", o);
  ASSERT_FALSE(r.isOk());
  const std::string& msg = r.status().message();
  EXPECT_TRUE(contains(msg, "bad.tir:2:")) << msg;
  EXPECT_TRUE(contains(msg, "has no axis 'tp'")) << msg;
  EXPECT_TRUE(contains(msg, "its axes: dp")) << msg;
}

TEST(BadPlans, AnAxisUsedTwiceInOneShardingIsAnError) {
  auto r = planText(R"(module @t {
  mesh @m = <dp=2, tp=2>
  func @f(%x: f32[4,8] {dp, dp}) -> f32[4,8] {
    %y = exp %x : f32[4,8]
    return %y
  }
})", "dp=2,tp=2");
  ASSERT_FALSE(r.isOk());
  const std::string& msg = r.status().message();
  EXPECT_TRUE(contains(msg, "bad.tir:3:")) << msg;
  EXPECT_TRUE(contains(msg, "'dp' more than once")) << msg;
}

}  // namespace
}  // namespace tessera::partition
