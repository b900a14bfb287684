// Issue 3's numerics check against PyTorch: a small GPT defined in PyTorch, exported to ONNX
// (tests/fixtures/torch_gpt/generate.py), trained here by `tessera train` for 5 steps from the
// same weights on the same batch must give PyTorch's per-step losses within 1e-4 relative, for
// SGD, SGD with Nesterov momentum and weight decay, and AdamW. The fixtures (model, batch,
// expected losses) are committed, so this test needs no PyTorch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(TESSERA_SOURCE_DIR) / "tests/fixtures/torch_gpt";

nlohmann::json readJson(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

// Runs `tessera train` on the exported model and returns the logged per-step losses.
std::vector<double> trainLosses(const std::string& name, const std::string& optimizerFlags) {
  fs::path log = fs::temp_directory_path() / ("tessera_torch_gpt_" + name + ".jsonl");
  fs::remove(log);
  std::string cmd = std::string(TESSERA_BINARY_DIR) + "/tessera train " +
                    (kFixtures / "gpt.onnx").string() + " --steps 5 " + optimizerFlags +
                    " --input tokens=" + (kFixtures / "tokens.npy").string() +
                    " --input targets=" + (kFixtures / "targets.npy").string() +
                    " --log-json " + log.string() + " --quiet";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd;
  std::vector<double> losses;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) losses.push_back(nlohmann::json::parse(line).at("loss").get<double>());
  return losses;
}

void expectLossesMatch(const std::string& config, const std::string& flags) {
  nlohmann::json expected = readJson(kFixtures / "expected.json").at(config).at("losses");
  std::vector<double> got = trainLosses(config, flags);
  ASSERT_EQ(got.size(), expected.size()) << config;
  for (size_t i = 0; i < got.size(); ++i) {
    double want = expected[i].get<double>();
    EXPECT_LE(std::fabs(got[i] - want), 1e-4 * std::fabs(want))
        << config << " step " << i + 1 << ": tessera " << got[i] << ", pytorch " << want;
  }
  // The losses must actually move, or the comparison above would prove little.
  EXPECT_LT(got.back(), got.front() - 0.1) << config;
}

TEST(TorchGpt, SgdMatchesPyTorch) { expectLossesMatch("sgd", "--optimizer sgd --lr 0.1"); }

TEST(TorchGpt, SgdNesterovWeightDecayMatchesPyTorch) {
  expectLossesMatch("sgd_momentum",
                    "--optimizer sgd --lr 0.1 --momentum 0.9 --weight-decay 0.01 --nesterov");
}

TEST(TorchGpt, AdamWMatchesPyTorch) { expectLossesMatch("adamw", "--optimizer adamw --lr 0.01"); }

}  // namespace
