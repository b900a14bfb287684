// Helpers for the remat tests: a zoo model with its training step, data, and steps on the
// reference interpreter carrying parameters and state through the module (as `tessera train`).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../../support/SplitMix64.h"
#include "frontend/Zoo.h"
#include "ir/Interpreter.h"
#include "ir/Module.h"
#include "passes/training/TrainStep.h"

namespace tessera::remat_test {

struct Model {
  std::unique_ptr<ir::Module> module;
  passes::TrainStepInfo info;
  ir::Function* step() const { return module->findFunction(info.function); }
};

inline Model buildModel(const std::string& zoo, const std::map<std::string, std::string>& opts) {
  Model m;
  StatusOr<std::unique_ptr<ir::Module>> built = frontend::buildZooModel(zoo, opts);
  EXPECT_TRUE(built.isOk()) << built.status().message();
  if (!built.isOk()) return m;
  m.module = std::move(*built);
  passes::TrainStepOptions o;
  o.optimizer.lr = 0.01;
  StatusOr<passes::TrainStepInfo> info = passes::buildTrainStep(*m.module, o);
  EXPECT_TRUE(info.isOk()) << info.status().message();
  if (info.isOk()) m.info = *info;
  return m;
}

// A small GPT whose [B,heads,S,S] attention tensors are the largest activations at S = 32.
inline std::map<std::string, std::string> smallGpt(int layers) {
  return {{"layers", std::to_string(layers)}, {"hidden", "16"}, {"heads", "4"},
          {"seq", "32"}, {"vocab", "32"}, {"ffn", "64"}};
}

inline std::map<std::string, ir::Tensor> tokens(int64_t B, int64_t S, int64_t vocab, uint64_t seed) {
  testing_support::SplitMix64 rng{seed};
  std::vector<double> t, y;
  for (int64_t i = 0; i < B * S; ++i) {
    t.push_back(static_cast<double>(rng.below(vocab)));
    y.push_back(static_cast<double>(rng.below(vocab)));
  }
  return {{"tokens", ir::Tensor(ir::DType::I64, {B, S}, t)},
          {"targets", ir::Tensor(ir::DType::I64, {B, S}, y)}};
}

// Runs `steps` steps; returns the losses; the module ends holding the trained values.
inline std::vector<ir::Tensor> train(Model& m, int steps, int64_t B, int64_t S, int64_t vocab) {
  std::vector<ir::Tensor> losses;
  std::vector<std::string> carried = m.info.params;
  carried.insert(carried.end(), m.info.state.begin(), m.info.state.end());
  for (int s = 0; s < steps; ++s) {
    StatusOr<ir::InterpretResult> r = ir::interpret(*m.step(), tokens(B, S, vocab, 100 + s));
    EXPECT_TRUE(r.isOk()) << r.status().message();
    if (!r.isOk()) return losses;
    losses.push_back(r->outputs[0]);
    for (size_t i = 0; i < carried.size(); ++i)
      for (ir::Parameter& p : m.module->params)
        if (p.name == carried[i]) p.init = std::make_shared<ir::Tensor>(r->outputs[i + 1]);
  }
  return losses;
}

}  // namespace tessera::remat_test
