// Helpers for the training-step tests: parse a module, build @train_step, run steps on the
// interpreter carrying parameters and state through the module (as `tessera train` does).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "passes/training/TrainStep.h"

namespace tessera::training_test {

inline std::unique_ptr<ir::Module> parse(const std::string& text) {
  StatusOr<std::unique_ptr<ir::Module>> m = ir::parseModule(text, "test.tir");
  EXPECT_TRUE(m.isOk()) << m.status().message();
  if (!m.isOk()) return nullptr;
  Status v = ir::verifyModule(**m);
  EXPECT_TRUE(v.isOk()) << v.message();
  return std::move(*m);
}

inline const ir::Tensor& paramValue(const ir::Module& m, const std::string& name) {
  const ir::Parameter* p = m.findParam(name);
  assert(p && p->init);
  return *p->init;
}

// Runs one step of @train_step with `inputs` and stores the new parameters and state in the
// module; returns the loss.
inline double runStep(ir::Module& m, const passes::TrainStepInfo& info,
                      const std::map<std::string, ir::Tensor>& inputs = {}) {
  const ir::Function* f = m.findFunction(info.function);
  EXPECT_NE(f, nullptr);
  StatusOr<ir::InterpretResult> r = ir::interpret(*f, inputs);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  if (!r.isOk()) return 0;
  std::vector<std::string> carried = info.params;
  carried.insert(carried.end(), info.state.begin(), info.state.end());
  EXPECT_EQ(r->outputs.size(), carried.size() + 1);
  for (size_t i = 0; i < carried.size(); ++i)
    for (ir::Parameter& p : m.params)
      if (p.name == carried[i]) p.init = std::make_shared<ir::Tensor>(r->outputs[i + 1]);
  return r->outputs[0][0];
}

inline passes::TrainStepInfo build(ir::Module& m, const passes::TrainStepOptions& o) {
  StatusOr<passes::TrainStepInfo> info = passes::buildTrainStep(m, o);
  EXPECT_TRUE(info.isOk()) << info.status().message();
  if (!info.isOk()) return {};
  Status v = ir::verifyModule(m);
  EXPECT_TRUE(v.isOk()) << v.message();
  return *info;
}

inline void expectNear(const std::vector<double>& got, const std::vector<double>& want,
                       double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::abs(want[i])))
        << what << " [" << i << "]";
}

}  // namespace tessera::training_test
