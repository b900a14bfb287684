// Helpers for the executor and ordering-check tests: parse a module, build per-rank inputs.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ir/Parser.h"

namespace tessera::exec_test {

inline std::unique_ptr<ir::Module> parse(const std::string& text) {
  StatusOr<std::unique_ptr<ir::Module>> m = ir::parseModule(text, "test.tir");
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? std::move(*m) : nullptr;
}

}  // namespace tessera::exec_test
