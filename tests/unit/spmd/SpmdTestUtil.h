// Helpers for the SPMD partitioner tests: annotate a global function's arguments, partition it,
// run it on the in-process executor, and compare every output with the single-device
// interpreter (the reference) within a relative tolerance.
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
#include "ir/Printer.h"
#include "partition/exec/InProcessExecutor.h"
#include "partition/spmd/SpmdPartitioner.h"

namespace tessera::spmd_test {

using Dims = std::vector<std::vector<std::string>>;  // axes per dim

inline std::unique_ptr<ir::Module> parse(const std::string& text) {
  StatusOr<std::unique_ptr<ir::Module>> m = ir::parseModule(text, "test.tir");
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? std::move(*m) : nullptr;
}

inline ir::Sharding sharding(const Dims& dims) {
  ir::Sharding s;
  for (const auto& d : dims) s.dims.push_back(ir::DimSharding{d, false, std::nullopt});
  return s;
}

// Sets the sharding of argument `name` of f (and of every result that returns it unchanged is
// not needed: results are assembled whatever their layout).
inline void annotate(ir::Function& f, const std::string& name, const Dims& dims) {
  for (int i = 0; i < f.numArguments(); ++i)
    if (f.argument(i)->name() == name) {
      f.argument(i)->setSharding(sharding(dims));
      return;
    }
  ADD_FAILURE() << "no argument %" << name << " in @" << f.name();
}

// The global inputs of f by position: `named` first, else the module parameter's value.
inline std::vector<ir::Tensor> globalInputs(const ir::Function& f,
                                            const std::map<std::string, ir::Tensor>& named) {
  std::vector<ir::Tensor> out;
  for (int i = 0; i < f.numArguments(); ++i) {
    const std::string& n = f.argument(i)->name();
    if (auto it = named.find(n); it != named.end()) {
      out.push_back(it->second);
      continue;
    }
    const ir::Parameter* p = f.module()->findParam(n);
    EXPECT_TRUE(p && p->init) << "no input for %" << n;
    out.push_back(p && p->init ? *p->init : ir::Tensor());
  }
  return out;
}

struct Partitioned {
  partition::SpmdProgram program;
  std::string text;  // the local module, printed
};

inline std::unique_ptr<Partitioned> partitionOf(const ir::Function& f) {
  auto p = partition::partitionSpmd(f);
  EXPECT_TRUE(p.isOk()) << p.status().message();
  if (!p.isOk()) return nullptr;
  auto out = std::make_unique<Partitioned>();
  out->program = std::move(*p);
  out->text = ir::printModule(*out->program.module);
  return out;
}

inline std::vector<ir::Tensor> reference(const ir::Function& f, const std::vector<ir::Tensor>& in) {
  auto r = ir::interpret(f, in);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? r->outputs : std::vector<ir::Tensor>{};
}

inline std::vector<ir::Tensor> distributed(const Partitioned& p, const std::vector<ir::Tensor>& in) {
  auto r = partition::runSpmd(p.program, in);
  EXPECT_TRUE(r.isOk()) << r.status().message() << "\n" << p.text;
  return r.isOk() ? *r : std::vector<ir::Tensor>{};
}

// Every element within `rel`: |got - want| <= rel * max(|want|, m) with m = 1e-2 * max_i |want_i|
// (so the absolute floor, rel * m, is about one f32 ulp of the output's largest element).
// Relative per element, except for elements that come out of cancellation (p - lr * g with
// both terms near |p|) or are rounding noise around zero (a gradient that is zero in exact
// arithmetic, e.g. of a bias added before a softmax): their error is set by the ulp of the
// operands, and no change of summation order reproduces them to 1e-5 of themselves.
inline void expectClose(const std::vector<ir::Tensor>& got, const std::vector<ir::Tensor>& want,
                        double rel = 1e-5) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < got.size(); ++k) {
    ASSERT_EQ(got[k].shape(), want[k].shape()) << "output " << k;
    double scale = 0;
    for (double w : want[k].data()) scale = std::max(scale, std::abs(w));
    int bad = 0;
    for (int64_t i = 0; i < want[k].numElements() && bad < 5; ++i) {
      double g = got[k][i], w = want[k][i];
      if (!(std::abs(g - w) <= rel * std::max(std::abs(w), 1e-2 * scale))) {
        ++bad;
        ADD_FAILURE() << "output " << k << " element " << i << ": got " << g << ", want " << w;
      }
    }
  }
}

}  // namespace tessera::spmd_test
