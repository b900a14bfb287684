// The pieces of `tessera train` below the command line: character-level batches, the progress
// and JSON lines, and the step loop carrying parameters and state through the module. (The
// command itself is tested end to end by tests/text/cli/train.tir and train-errors.tir.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "launcher/CharData.h"
#include "launcher/ModuleIO.h"
#include "launcher/TrainLoop.h"
#include "passes/training/TrainStep.h"

namespace tessera::launcher {
namespace {

std::string writeTemp(const std::string& name, const std::string& bytes) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("tessera_train_cli_" + std::to_string(::getpid()) + "_" + name))
                         .string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(CharData, WindowsAreConsecutiveBytesAndTargetsAreShiftedByOne) {
  std::string path = writeTemp("abc.txt", "abcdefghij");
  StatusOr<CharCorpus> c = CharCorpus::load(path, 4);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  std::mt19937_64 rng(7);
  CharBatch b = c->sample(3, 4, rng);
  EXPECT_EQ(b.tokens.shape(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(b.targets.shape(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(b.tokens.dtype(), ir::DType::I64);
  for (int64_t i = 0; i < 3; ++i) {
    double start = b.tokens[i * 4];
    // A window of 5 bytes fits in 10: it starts at 'a'..'f'.
    EXPECT_GE(start, 'a');
    EXPECT_LE(start, 'f');
    for (int64_t j = 0; j < 4; ++j) {
      EXPECT_EQ(b.tokens[i * 4 + j], start + j);
      EXPECT_EQ(b.targets[i * 4 + j], start + j + 1);
    }
  }
  std::filesystem::remove(path);
}

TEST(CharData, SeededAndDeterministic) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += static_cast<char>(i * 7 % 251);
  std::string path = writeTemp("bytes.bin", text);
  StatusOr<CharCorpus> c = CharCorpus::load(path, 8);
  ASSERT_TRUE(c.isOk());
  std::mt19937_64 a(1), b(1), other(2);
  CharBatch x = c->sample(4, 8, a), y = c->sample(4, 8, b), z = c->sample(4, 8, other);
  EXPECT_EQ(x.tokens, y.tokens);
  EXPECT_EQ(x.targets, y.targets);
  EXPECT_NE(x.tokens, z.tokens);
  // Bytes are token ids 0..255, never negative (char may be signed).
  for (double v : x.tokens.data()) EXPECT_TRUE(v >= 0 && v < 256);
  std::filesystem::remove(path);
}

TEST(CharData, TooShortCorpusNamesTheFile) {
  std::string path = writeTemp("short.txt", "abc");
  StatusOr<CharCorpus> c = CharCorpus::load(path, 3);
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("short.txt"), std::string::npos);
  EXPECT_NE(c.status().message().find("at least 4"), std::string::npos) << c.status().message();
  std::filesystem::remove(path);
}

TEST(TrainLog, ProgressAndJsonLines) {
  StepRecord r{3, 4.75123, 0.12, 8500};
  EXPECT_EQ(progressLine(r, 20), "step 3/20  loss 4.7512  0.12 s/step  8500 tok/s");
  std::string line = jsonLine(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.rfind("{\"step\":3,", 0), 0u) << line;
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["step"], 3);
  EXPECT_EQ(j["loss"].get<double>(), 4.75123);  // exact: doubles round-trip
  EXPECT_EQ(j["step_time_s"].get<double>(), 0.12);
  EXPECT_EQ(j["tokens_per_s"].get<double>(), 8500);
}

TEST(TrainLoop, CarriesParametersAndStateThroughTheModule) {
  StatusOr<std::unique_ptr<ir::Module>> m =
      readModule(std::string(TESSERA_SOURCE_DIR) + "/examples/mlp.tir");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  passes::TrainStepOptions o;
  o.optimizer.kind = passes::OptimizerKind::Sgd;
  o.optimizer.lr = 0.5;
  o.optimizer.momentum = 0.5;
  StatusOr<passes::TrainStepInfo> info = passes::buildTrainStep(**m, o);
  ASSERT_TRUE(info.isOk()) << info.status().message();
  ir::Tensor w1Before = *(*m)->findParam("w1")->init;

  std::ostringstream progress, log;
  TrainLoopOptions lo;
  lo.steps = 4;
  lo.progress = &progress;
  lo.logJson = &log;
  int calls = 0;
  DataFn data = [&](int step) -> StatusOr<StepData> {
    EXPECT_EQ(step, ++calls);
    return StepData{{}, 8};
  };
  StatusOr<std::vector<StepRecord>> recs = runTrainLoop(**m, *info, data, lo);
  ASSERT_TRUE(recs.isOk()) << recs.status().message();
  ASSERT_EQ(recs->size(), 4u);
  for (size_t i = 1; i < recs->size(); ++i) EXPECT_LT((*recs)[i].loss, (*recs)[i - 1].loss);
  EXPECT_NE(*(*m)->findParam("w1")->init, w1Before);
  EXPECT_EQ((*(*m)->findParam("step")->init)[0], 4);
  // The momentum buffer holds the last step's buffer, not zeros.
  double absSum = 0;
  for (double v : (*m)->findParam("w1.momentum")->init->data()) absSum += std::abs(v);
  EXPECT_GT(absSum, 0);
  // One JSON object per line, one progress line per step.
  std::istringstream lines(log.str());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_EQ(j["step"], ++n);
    EXPECT_EQ(j["loss"].get<double>(), (*recs)[n - 1].loss);
  }
  EXPECT_EQ(n, 4);
  EXPECT_NE(progress.str().find("step 4/4  loss "), std::string::npos) << progress.str();
}

}  // namespace
}  // namespace tessera::launcher
