// The gradient check over the whole op table: one test per op kind (ir/OpInfo.h allOps()), so a
// new op cannot skip it. An op with a GRAD rule must have a sample file
// tests/fixtures/grad/<mnemonic>.tir (GradCheck.h describes samples and the tolerance); every
// module in it is checked against central finite differences in f64. ZERO_GRAD and NO_GRAD ops
// have no rule to check; that differentiating through them is refused or blocked is tested in
// AutodiffErrorTest.cpp. The harness itself is tested at the end: a planted wrong gradient and a
// sample that does not use its op must both fail.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "ir/OpInfo.h"
#include "tests/unit/autodiff/GradCheck.h"

namespace tessera {
namespace {

enum class Column { Missing, Grad, Zero, None };

Column gradColumn(ir::OpKind kind) {
  switch (kind) {
#define GRAD(k, fn) case ir::OpKind::k: return Column::Grad;
#define ZERO_GRAD(k) case ir::OpKind::k: return Column::Zero;
#define NO_GRAD(k, why) case ir::OpKind::k: return Column::None;
#include "passes/autodiff/GradRules.def"
    default: return Column::Missing;
  }
}

std::string fixturePath(const std::string& mnemonic) {
  return std::string(TESSERA_SOURCE_DIR) + "/tests/fixtures/grad/" + mnemonic + ".tir";
}

bool readFile(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

uint64_t seedFor(const std::string& mnemonic, size_t chunk) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a of the mnemonic, then the chunk index
  for (char ch : mnemonic) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
  return h ^ (chunk * 0x9e3779b97f4a7c15ULL);
}

class GradCheck : public ::testing::TestWithParam<ir::OpKind> {};

TEST_P(GradCheck, MatchesFiniteDifferences) {
  const ir::OpInfo& info = ir::opInfo(GetParam());
  std::string mnemonic = info.mnemonic;
  Column col = gradColumn(info.kind);
  ASSERT_NE(col, Column::Missing) << "op '" << mnemonic
                                  << "' has no entry in passes/autodiff/GradRules.def";
  if (col != Column::Grad) return;  // nothing to check: no rule (see the file comment)

  std::string path = fixturePath(mnemonic), text;
  ASSERT_TRUE(readFile(path, text)) << "op '" << mnemonic
                                    << "' has a gradient rule but no sample file " << path;
  auto samples = gradcheck::splitSamples(text, path);
  ASSERT_TRUE(samples.isOk()) << samples.status().message();
  ASSERT_FALSE(samples->empty()) << path << " holds no module";
  for (size_t k = 0; k < samples->size(); ++k) {
    const gradcheck::Sample& s = (*samples)[k];
    SCOPED_TRACE(path + ":" + std::to_string(s.firstLine));
    auto r = gradcheck::checkSample(s, path, seedFor(mnemonic, k), info.kind);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_GT(r->checked, 0);
    for (const gradcheck::Mismatch& m : r->mismatches)
      ADD_FAILURE() << "d loss / d %" << m.arg << "[" << m.index << "]: rule " << m.analytic
                    << ", finite difference " << m.numeric;
    if (!r->mismatches.empty()) ADD_FAILURE() << "differentiated module:\n" << r->backwardIR;
    char summary[64];
    std::snprintf(summary, sizeof summary, "%lld elements, max |error| %.3g",
                  static_cast<long long>(r->checked), r->maxAbsError);
    RecordProperty("sample_" + std::to_string(k), summary);
  }
}

std::vector<ir::OpKind> allKinds() {
  std::vector<ir::OpKind> out;
  for (const ir::OpInfo& info : ir::allOps()) out.push_back(info.kind);
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllOps, GradCheck, ::testing::ValuesIn(allKinds()),
                         [](const ::testing::TestParamInfo<ir::OpKind>& p) {
                           return std::string(ir::opInfo(p.param).mnemonic);
                         });

// ---- the harness can fail ----

const char* kExpSample = R"(
module @exp {
  func @main(%x: f64[3]) -> (f64[3]) {
    %y = exp %x : f64[3]
    return %y
  }
}
)";

// Scales the first gradient by 1.001: a 0.1% error the check must see.
void scaleFirstGradient(ir::Function& f, int numGrads) {
  ir::Value* g = f.results()[1];
  ir::TensorType scalar{g->type().dtype, {}};
  auto k = f.addOp(ir::OpSpec{ir::OpKind::Full, {}, {{"value", 1.001}}, {scalar}, {}});
  ASSERT_TRUE(k.isOk());
  auto m = f.addOp(ir::OpSpec{ir::OpKind::Mul, {g, (*k)->result(0)}, {}, {}, {}});
  ASSERT_TRUE(m.isOk());
  f.setResult(1, (*m)->result(0));
}

TEST(GradCheckHarness, PassesOnACorrectRule) {
  auto samples = gradcheck::splitSamples(kExpSample, "exp.tir");
  ASSERT_TRUE(samples.isOk());
  auto r = gradcheck::checkSample((*samples)[0], "exp.tir", 1, ir::OpKind::Exp);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->checked, 3);
  EXPECT_TRUE(r->mismatches.empty());
}

TEST(GradCheckHarness, CatchesAWrongGradient) {
  auto samples = gradcheck::splitSamples(kExpSample, "exp.tir");
  ASSERT_TRUE(samples.isOk());
  auto r = gradcheck::checkSample((*samples)[0], "exp.tir", 1, ir::OpKind::Exp,
                                  scaleFirstGradient);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->mismatches.size(), 3u);
}

TEST(GradCheckHarness, RejectsASampleWithoutItsOp) {
  auto samples = gradcheck::splitSamples(kExpSample, "exp.tir");
  ASSERT_TRUE(samples.isOk());
  auto r = gradcheck::checkSample((*samples)[0], "exp.tir", 1, ir::OpKind::Log);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("does not use 'log'"), std::string::npos)
      << r.status().message();
}

TEST(GradCheckHarness, SplitsChunksAndReadsDirectives) {
  std::string text =
      "// inputs: uniform(0.5, 2)\nmodule @a {\n}\n// -----\n// symbols: B=3, S=2\n"
      "// fd: step=1e-3 rtol=1e-4 atol=1e-5\nmodule @b {\n}\n";
  auto s = gradcheck::splitSamples(text, "t.tir");
  ASSERT_TRUE(s.isOk()) << s.status().message();
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].lo, 0.5);
  EXPECT_EQ((*s)[0].hi, 2);
  EXPECT_EQ((*s)[1].lo, -1);  // directives do not leak into the next chunk
  EXPECT_EQ((*s)[1].firstLine, 5);
  EXPECT_EQ((*s)[1].symbols.at("B"), 3);
  EXPECT_EQ((*s)[1].symbols.at("S"), 2);
  EXPECT_EQ((*s)[1].step, 1e-3);
  EXPECT_EQ((*s)[1].atol, 1e-5);
  auto bad = gradcheck::splitSamples("// inputs: uniform(2, 1)\nmodule @a {\n}\n", "t.tir");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("t.tir:1:1"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace tessera
