// Helpers for the partition tests: parse a module from text (failing the test on error) and find
// an op or value by its result name.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ir/Module.h"
#include "ir/Parser.h"

namespace tessera::partition::testing {

inline std::unique_ptr<ir::Module> parse(const std::string& text) {
  auto m = ir::parseModule(text, "test.tir");
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? std::move(*m) : nullptr;
}

inline ir::Value* valueNamed(const ir::Function& f, const std::string& name) {
  for (int i = 0; i < f.numArguments(); ++i)
    if (f.argument(i)->name() == name) return f.argument(i);
  for (const auto& op : f.ops())
    for (int r = 0; r < op->numResults(); ++r)
      if (op->result(r)->name() == name) return op->result(r);
  ADD_FAILURE() << "no value %" << name;
  return nullptr;
}

inline const ir::Op* opNamed(const ir::Function& f, const std::string& name) {
  ir::Value* v = valueNamed(f, name);
  return v ? v->definingOp() : nullptr;
}

}  // namespace tessera::partition::testing
