// The plan file against damaged bytes, in-process (no MPI): every truncation and every single-byte
// flip of a small plan is a clean error naming the file; with the checksum recomputed over the
// damaged payload (so that the parser and the consistency checks see the damage), decoding never
// crashes. A plan from another Tessera release is refused by name.
#include <gtest/gtest.h>

#include <string>

#include "frontend/Zoo.h"
#include "launcher/PlanFile.h"
#include "partition/mesh/MeshSpec.h"

namespace tessera::launcher {
namespace {

// A tiny GPT's SGD step on dp=2, as bytes.
std::string smallPlan() {
  auto m = frontend::buildZooModel("gpt", {{"layers", "1"}, {"hidden", "8"}, {"heads", "1"},
                                           {"seq", "4"}, {"vocab", "256"}, {"ffn", "8"}});
  EXPECT_TRUE(m.isOk()) << m.status().message();
  if (!m.isOk()) return "";
  passes::TrainStepOptions o;
  o.optimizer.kind = passes::OptimizerKind::Sgd;
  o.optimizer.lr = 0.1;
  auto info = passes::buildTrainStep(**m, o);
  EXPECT_TRUE(info.isOk()) << info.status().message();
  if (!info.isOk()) return "";
  PlanRequest req;
  req.mesh = *partition::parseMeshSpec("dp=2");
  req.presets.dataParallel = true;
  req.data.batch = 2;
  req.data.seq = 4;
  auto plan = buildDistributedPlan(std::move(*m), *info, req);
  EXPECT_TRUE(plan.isOk()) << plan.status().message();
  if (!plan.isOk()) return "";
  auto bytes = encodePlan(*plan);
  EXPECT_TRUE(bytes.isOk()) << bytes.status().message();
  return bytes.isOk() ? *bytes : "";
}

// FNV-1a 64 written out from its definition (offset basis, prime), independent of PlanFile.cpp.
void fixChecksum(std::string& b) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 20; i < b.size(); ++i) {
    h ^= static_cast<unsigned char>(b[i]);
    h *= 0x100000001b3ull;
  }
  for (int i = 0; i < 8; ++i) b[12 + i] = static_cast<char>((h >> (8 * i)) & 0xFF);
}

TEST(PlanFile, RoundTrip) {
  const std::string b = smallPlan();
  ASSERT_FALSE(b.empty());
  auto plan = decodePlan(b, "small.tpb");
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  EXPECT_EQ(plan->ranks, 2);
  EXPECT_EQ(plan->mesh.axes.size(), 1u);
  EXPECT_EQ(plan->data.batch, 2);
  // The batch is split over dp: %tokens' dim 0.
  bool tokensSplit = false;
  for (const PlanArgument& a : plan->arguments)
    if (a.name == "tokens")
      tokensSplit = !a.sharding.dims.empty() && a.sharding.dims[0].axes == std::vector<std::string>{"dp"};
  EXPECT_TRUE(tokensSplit);
  // Encoding what was decoded gives the same bytes.
  auto again = encodePlan(*plan);
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(*again, b);
}

TEST(PlanFile, EveryTruncationIsACleanError) {
  const std::string b = smallPlan();
  ASSERT_FALSE(b.empty());
  for (size_t n = 0; n < b.size(); ++n) {
    auto plan = decodePlan(std::string_view(b).substr(0, n), "cut.tpb");
    ASSERT_FALSE(plan.isOk()) << "truncated to " << n << " bytes";
    ASSERT_EQ(plan.status().message().rfind("cut.tpb", 0), 0u) << plan.status().message();
  }
}

TEST(PlanFile, EveryByteFlipIsACleanError) {
  const std::string b = smallPlan();
  ASSERT_FALSE(b.empty());
  for (size_t i = 0; i < b.size(); ++i) {
    std::string d = b;
    d[i] = static_cast<char>(d[i] ^ 0x5A);
    auto plan = decodePlan(d, "flip.tpb");
    ASSERT_FALSE(plan.isOk()) << "byte " << i << " flipped";
    ASSERT_EQ(plan.status().message().rfind("flip.tpb", 0), 0u) << plan.status().message();
  }
}

// Past the checksum: the parser and the consistency checks meet the damage. A flip inside a
// weight's value still decodes (it is a valid plan); anything else must be an error, never a
// crash or an assertion.
TEST(PlanFile, FlipsPastTheChecksumNeverCrash) {
  const std::string b = smallPlan();
  ASSERT_FALSE(b.empty());
  int errors = 0;
  for (size_t i = 20; i < b.size(); i += 3) {
    std::string d = b;
    d[i] = static_cast<char>(d[i] ^ 0xFF);
    fixChecksum(d);
    auto plan = decodePlan(d, "flip.tpb");
    if (!plan.isOk()) ++errors;
  }
  EXPECT_GT(errors, 0);
}

TEST(PlanFile, AnotherTesseraVersionIsRefused) {
  const std::string b = smallPlan();
  ASSERT_FALSE(b.empty());
  auto plan = decodePlan(b, "p.tpb");
  ASSERT_TRUE(plan.isOk());
  plan->tesseraVersion = "0.9.0";
  auto old = encodePlan(*plan);
  ASSERT_TRUE(old.isOk());
  auto r = decodePlan(*old, "old.tpb");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("written by Tessera 0.9.0; this is Tessera"),
            std::string::npos)
      << r.status().message();
}

TEST(PlanFile, ForAnotherRankCount) {
  auto plan = decodePlan(smallPlan(), "p.tpb");
  ASSERT_TRUE(plan.isOk());
  EXPECT_TRUE(checkPlanRanks(*plan, 2).isOk());
  Status st = checkPlanRanks(*plan, 4);
  ASSERT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("built for 2 ranks (mesh dp=2) but the job has 4"),
            std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace tessera::launcher
