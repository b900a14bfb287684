// The GPT that tests/fixtures/torch_gpt/generate.py defines in PyTorch and exports to ONNX
// (opset 17, training mode, no constant folding, dynamic B and S): it must import with symbolic
// batch and sequence dims, no run-time shape arithmetic left, and its loss on the fixture batch
// must equal PyTorch's first recorded loss.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "frontend/OnnxImporter.h"
#include "ir/Interpreter.h"
#include "ir/Printer.h"
#include "launcher/Npy.h"

namespace tessera {
namespace {

const std::string kDir = std::string(TESSERA_SOURCE_DIR) + "/tests/fixtures/torch_gpt/";

// The first number after `"losses": [` in expected.json (the SGD run's loss before any update).
double firstTorchLoss() {
  std::ifstream in(kDir + "expected.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t at = text.find("\"losses\": [");
  EXPECT_NE(at, std::string::npos);
  return std::stod(text.substr(at + 11));
}

TEST(OnnxTorchGpt, ImportsWithSymbolicDimsAndMatchesTorchLoss) {
  auto m = frontend::importOnnx(kDir + "gpt.onnx");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  ir::Function* f = (*m)->findFunction("main");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->argument(0)->type().str(), "i64[B,S]");
  EXPECT_EQ(f->argument(1)->type().str(), "i64[B,S]");
  ASSERT_EQ(f->results().size(), 1u);
  EXPECT_EQ(f->results()[0]->type().str(), "f32[]");
  std::set<ir::OpKind> kinds;
  for (const auto& op : f->ops()) kinds.insert(op->kind());
  // Shape sub-graphs folded; the loss became Tessera's cross_entropy.
  EXPECT_FALSE(kinds.count(ir::OpKind::Concat));
  EXPECT_TRUE(kinds.count(ir::OpKind::CrossEntropy));
  EXPECT_TRUE(kinds.count(ir::OpKind::LayerNorm));
  for (const ir::Parameter& p : (*m)->params) EXPECT_TRUE(p.trainable) << p.name;
  EXPECT_GE((*m)->params.size(), 20u);

  auto tokens = launcher::readNpy(kDir + "tokens.npy");
  auto targets = launcher::readNpy(kDir + "targets.npy");
  ASSERT_TRUE(tokens.isOk() && targets.isOk());
  auto out = ir::interpret(*f, {{f->argument(0)->name(), *tokens},
                                {f->argument(1)->name(), *targets}});
  ASSERT_TRUE(out.isOk()) << out.status().message();
  double want = firstTorchLoss();
  EXPECT_NEAR(out->outputs[0][0], want, 1e-5 * want);
}

}  // namespace
}  // namespace tessera
