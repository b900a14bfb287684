// Shared pieces of the pipeline tests: a tiny zoo GPT (4 layers so that 4 stages fit), token
// batches, the single-device reference run, and a relative comparison of tensors.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>

#include "frontend/zoo/ZooModels.h"
#include "ir/Interpreter.h"
#include "ir/Module.h"
#include "passes/training/TrainStep.h"
#include "tests/support/SplitMix64.h"

namespace tessera::pipeline_test {

constexpr int64_t kVocab = 11, kSeq = 4;

inline std::unique_ptr<ir::Module> tinyGpt(int64_t layers = 4, int64_t moeEvery = 0) {
  frontend::zoo::GptConfig c;
  c.layers = layers;
  c.hidden = 8;
  c.heads = 2;
  c.seq = kSeq;
  c.vocab = kVocab;
  c.ffn = 16;
  c.moeEvery = moeEvery;
  if (moeEvery) c.moe.groupSize = kSeq;
  auto m = frontend::zoo::buildGpt(c);
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? std::move(*m) : nullptr;
}

inline std::map<std::string, ir::Tensor> tokens(int64_t batch, uint64_t seed) {
  testing_support::SplitMix64 rng{seed};
  std::vector<double> t, y;
  for (int64_t i = 0; i < batch * kSeq; ++i) t.push_back(static_cast<double>(rng.below(kVocab)));
  for (int64_t i = 0; i < batch * kSeq; ++i) y.push_back(static_cast<double>(rng.below(kVocab)));
  return {{"tokens", ir::Tensor(ir::DType::I64, {batch, kSeq}, t)},
          {"targets", ir::Tensor(ir::DType::I64, {batch, kSeq}, y)}};
}

// The per-step losses and final parameters of a training run.
struct StepRunResult {
  std::vector<double> losses;
  std::map<std::string, ir::Tensor> params;
};

// `steps` steps of the single-device train step of tinyGpt() on the reference interpreter,
// step s drawing tokens(batch, seedBase + s): the oracle the pipeline tests compare against.
inline StepRunResult singleDeviceRun(const passes::TrainStepOptions& options, int steps, int64_t batch,
                                     uint64_t seedBase) {
  StepRunResult out;
  auto m = tinyGpt();
  auto info = passes::buildTrainStep(*m, options);
  EXPECT_TRUE(info.isOk()) << info.status().message();
  if (!info.isOk()) return out;
  const ir::Function& f = *m->findFunction(info->function);
  std::vector<ir::Tensor> carried;
  for (const auto* names : {&info->params, &info->state})
    for (const std::string& n : *names) carried.push_back(*m->findParam(n)->init);
  for (int s = 0; s < steps; ++s) {
    auto data = tokens(batch, seedBase + static_cast<uint64_t>(s));
    std::vector<ir::Tensor> args;
    for (const std::string& n : info->batchArgs) args.push_back(data.at(n));
    args.insert(args.end(), carried.begin(), carried.end());
    auto r = ir::interpret(f, args);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    if (!r.isOk()) return out;
    out.losses.push_back(r->outputs[0][0]);
    for (size_t i = 0; i < carried.size(); ++i) carried[i] = r->outputs[1 + i];
  }
  for (size_t i = 0; i < info->params.size(); ++i) out.params[info->params[i]] = carried[i];
  return out;
}

// Every element within `rel` of `want`, relative to max(|want_i|, 1e-2·max|want|): the floor
// keeps elements that are rounding noise around zero (or come out of cancellation) from
// demanding more than about one ulp of the tensor's scale.
inline void expectClose(const ir::Tensor& got, const ir::Tensor& want, const std::string& what,
                        double rel = 1e-5) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  double scale = 0;
  for (double w : want.data()) scale = std::max(scale, std::abs(w));
  int bad = 0;
  for (int64_t i = 0; i < want.numElements() && bad < 3; ++i) {
    double g = got[i], w = want[i];
    if (!(std::abs(g - w) <= rel * std::max(std::abs(w), 1e-2 * scale))) {
      ++bad;
      ADD_FAILURE() << what << " element " << i << ": got " << g << ", want " << w;
    }
  }
}

}  // namespace tessera::pipeline_test
