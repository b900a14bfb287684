// Helpers for the autodiff tests: parse a module from text, differentiate and run it.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "passes/autodiff/Autodiff.h"

namespace tessera::testutil {

inline std::unique_ptr<ir::Module> parse(const std::string& text) {
  auto m = ir::parseModule(text, "t.tir");
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? std::move(m).value() : std::make_unique<ir::Module>();
}

// Differentiates @main's result 0 w.r.t. the named arguments and returns the gradients computed
// by the interpreter on `inputs` (empty on failure, which is reported).
inline std::vector<ir::Tensor> runGrads(ir::Module& m, const std::vector<std::string>& wrtNames,
                                        const std::map<std::string, ir::Tensor>& inputs) {
  ir::Function* f = m.findFunction("main");
  if (!f) {
    ADD_FAILURE() << "no @main";
    return {};
  }
  std::vector<ir::Value*> wrt;
  for (const std::string& n : wrtNames)
    for (int i = 0; i < f->numArguments(); ++i)
      if (f->argument(i)->name() == n) wrt.push_back(f->argument(i));
  size_t before = f->results().size();
  auto info = passes::differentiate(*f, 0, wrt);
  if (!info.isOk()) {
    ADD_FAILURE() << info.status().message();
    return {};
  }
  auto r = ir::interpret(*f, inputs);
  if (!r.isOk()) {
    ADD_FAILURE() << r.status().message();
    return {};
  }
  return std::vector<ir::Tensor>(r->outputs.begin() + before, r->outputs.end());
}

}  // namespace tessera::testutil
