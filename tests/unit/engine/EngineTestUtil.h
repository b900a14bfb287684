// Shared helpers of the engine tests: parse a module, make random inputs, compare the compiled
// engine with the reference interpreter.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>

#include "codegen/Engine.h"
#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "tests/support/SplitMix64.h"

namespace tessera::codegen::testing {

inline std::unique_ptr<ir::Module> parse(const std::string& text) {
  auto m = ir::parseModule(text, "test.tir");
  EXPECT_TRUE(m.isOk()) << m.status().message();
  if (!m.isOk()) return nullptr;
  Status v = ir::verifyModule(**m);
  EXPECT_TRUE(v.isOk()) << v.message();
  return std::move(*m);
}

inline ir::Tensor randomTensor(ir::DType t, std::vector<int64_t> shape, uint64_t seed,
                               double lo = -2, double hi = 2) {
  testing_support::SplitMix64 r{seed};
  std::vector<double> v(ir::numElementsOf(shape));
  for (double& x : v) {
    if (ir::isFloat(t)) x = r.uniform(lo, hi);
    else if (t == ir::DType::Bool) x = static_cast<double>(r.below(2));
    else x = static_cast<double>(static_cast<int64_t>(r.below(static_cast<size_t>(hi - lo))) +
                                 static_cast<int64_t>(lo));
  }
  return ir::Tensor(t, std::move(shape), std::move(v));
}

// Max |a - b| / (tol_abs + tol_rel * |b|) <= 1 elementwise, with NaN == NaN.
inline ::testing::AssertionResult close(const ir::Tensor& a, const ir::Tensor& b, double rel,
                                        double abs = 1e-6) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape())
    return ::testing::AssertionFailure() << "dtype/shape differ: " << ir::dtypeName(a.dtype())
                                         << a.shapeStr() << " vs " << ir::dtypeName(b.dtype())
                                         << b.shapeStr();
  for (int64_t i = 0; i < a.numElements(); ++i) {
    double x = a[i], y = b[i];
    if (std::isnan(x) && std::isnan(y)) continue;
    if (std::isinf(x) && x == y) continue;
    if (!(std::fabs(x - y) <= abs + rel * std::fabs(y)))
      return ::testing::AssertionFailure() << "element " << i << ": " << x << " vs reference "
                                           << y;
  }
  return ::testing::AssertionSuccess();
}

inline EngineOptions evalOptions(bool fuse = true) {
  EngineOptions o;
  o.kernels = EngineOptions::Kernels::Evaluate;
  o.fuse = fuse;
  o.threads = 2;
  return o;
}

inline EngineOptions compiledOptions(bool fuse = true) {
  EngineOptions o = evalOptions(fuse);
  o.kernels = EngineOptions::Kernels::Compile;
  o.diskCache = false;
  return o;
}

// Runs @main on the engine and on the interpreter with the same inputs; compares every result.
// With the evaluator's options, the LLVM-compiled kernels are checked as well.
inline void expectMatchesInterpreter(const std::string& text,
                                     const std::map<std::string, ir::Tensor>& inputs,
                                     double rel = 1e-5, const EngineOptions& o = evalOptions()) {
  auto m = parse(text);
  ASSERT_TRUE(m);
  const ir::Function* f = m->findFunction("main");
  ASSERT_TRUE(f);
  auto ref = ir::interpret(*f, inputs);
  ASSERT_TRUE(ref.isOk()) << ref.status().message();
  std::vector<EngineOptions> modes{o};
  if (o.kernels == EngineOptions::Kernels::Evaluate) {
    modes.push_back(o);
    modes.back().kernels = EngineOptions::Kernels::Compile;
    modes.back().diskCache = false;
  }
  for (const EngineOptions& mode : modes) {
    SCOPED_TRACE(mode.kernels == EngineOptions::Kernels::Compile ? "compiled" : "evaluated");
    auto e = Engine::compile(*m, "main", mode);
    ASSERT_TRUE(e.isOk()) << e.status().message();
    auto got = (*e)->run(inputs);
    ASSERT_TRUE(got.isOk()) << got.status().message();
    ASSERT_EQ(got->size(), ref->outputs.size());
    for (size_t i = 0; i < got->size(); ++i)
      EXPECT_TRUE(close((*got)[i], ref->outputs[i], rel)) << "result " << i << "\n"
                                                           << (*e)->executable().str();
  }
}

}  // namespace tessera::codegen::testing
