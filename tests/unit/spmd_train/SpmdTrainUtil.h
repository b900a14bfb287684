// Helpers for the multi-step distributed training tests: build a tiny zoo model and its
// @train_step, partition it with the presets path (partition/plan/PartitionStep.h — the path the
// launcher uses), then run N steps on the in-process executor and N steps on the single-device
// interpreter, each fed back step to step (params', state' -> the next step's params, state), and
// record per-step losses and the final parameters and optimizer state of both.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frontend/zoo/ZooModels.h"
#include "ir/Interpreter.h"
#include "ir/Printer.h"
#include "partition/exec/InProcessExecutor.h"
#include "partition/mesh/MeshSpec.h"
#include "partition/plan/PartitionStep.h"
#include "passes/training/TrainStep.h"
#include "tests/support/SplitMix64.h"

namespace tessera::spmd_train {

using ir::DType;
using ir::Tensor;

constexpr int64_t kVocab = 11;  // tp=2 and tp=4 split it unevenly
constexpr int64_t kSeq = 4;
constexpr int64_t kHidden = 16;

struct ModelSpec {
  bool moe = false;
  int64_t heads = 4;  // tp=4 splits the heads evenly
};

inline std::unique_ptr<ir::Module> buildModel(const ModelSpec& s) {
  frontend::zoo::GptConfig c;
  c.layers = 2;
  c.hidden = kHidden;
  c.heads = s.heads;
  c.seq = kSeq;
  c.vocab = kVocab;
  c.ffn = 32;
  if (s.moe) {
    c.moeEvery = 2;  // block 1 is MoE
    c.moe.experts = 4;
    c.moe.groupSize = kSeq;
  }
  auto m = frontend::zoo::buildGpt(c);
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? std::move(*m) : nullptr;
}

inline passes::TrainStepOptions optimizer(bool adamw) {
  passes::TrainStepOptions o;
  if (adamw) {
    o.optimizer.kind = passes::OptimizerKind::AdamW;
    o.optimizer.lr = 1e-3;  // torch.optim.AdamW's default
  } else {
    o.optimizer.kind = passes::OptimizerKind::Sgd;
    o.optimizer.lr = 0.1;
    o.optimizer.momentum = 0.9;
  }
  return o;
}

inline std::map<std::string, Tensor> batchOf(int64_t batch, uint64_t seed) {
  testing_support::SplitMix64 rng{seed};
  std::vector<double> t, y;
  for (int64_t i = 0; i < batch * kSeq; ++i) t.push_back(static_cast<double>(rng.below(kVocab)));
  for (int64_t i = 0; i < batch * kSeq; ++i) y.push_back(static_cast<double>(rng.below(kVocab)));
  return {{"tokens", Tensor(DType::I64, {batch, kSeq}, t)},
          {"targets", Tensor(DType::I64, {batch, kSeq}, y)}};
}

// Initial inputs of @train_step by position: the batch, then the module's parameter values.
inline std::vector<Tensor> initialInputs(const ir::Function& f,
                                         const std::map<std::string, Tensor>& batch) {
  std::vector<Tensor> out;
  for (int i = 0; i < f.numArguments(); ++i) {
    const std::string& n = f.argument(i)->name();
    if (auto it = batch.find(n); it != batch.end()) {
      out.push_back(it->second);
      continue;
    }
    const ir::Parameter* p = f.module()->findParam(n);
    EXPECT_TRUE(p && p->init) << "no value for %" << n;
    out.push_back(p && p->init ? *p->init : Tensor());
  }
  return out;
}

struct Trajectory {
  std::vector<double> losses;
  std::vector<Tensor> finalState;  // params'..., state'... of the last step
  std::string error;
};

// Runs `steps` steps with `run` (one step: inputs -> outputs), feeding params'/state' back.
template <typename RunFn>
Trajectory train(const ir::Function& f, const passes::TrainStepInfo& info, int64_t batch,
                 int steps, RunFn run) {
  Trajectory t;
  const size_t nb = info.batchArgs.size();
  std::vector<Tensor> in = initialInputs(f, batchOf(batch, 100));
  for (int s = 0; s < steps; ++s) {
    auto b = batchOf(batch, 100 + s);
    for (size_t i = 0; i < nb; ++i) in[i] = b.at(f.argument(static_cast<int>(i))->name());
    StatusOr<std::vector<Tensor>> out = run(in);
    if (!out.isOk()) {
      t.error = out.status().message();
      return t;
    }
    t.losses.push_back((*out)[0][0]);
    for (size_t k = 1; k < out->size(); ++k) in[nb + k - 1] = (*out)[k];
    if (s + 1 == steps) t.finalState.assign(out->begin() + 1, out->end());
  }
  return t;
}

inline StatusOr<std::vector<Tensor>> referenceStep(const ir::Function& f,
                                                  const std::vector<Tensor>& in) {
  TRY_ASSIGN(ir::InterpretResult r, ir::interpret(f, in));
  return r.outputs;
}

// Counts occurrences of `word` (e.g. "all_gather") in `text`.
inline int count(const std::string& text, const std::string& word) {
  int n = 0;
  for (size_t p = text.find(word); p != std::string::npos; p = text.find(word, p + word.size())) ++n;
  return n;
}

}  // namespace tessera::spmd_train
