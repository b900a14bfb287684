// Helpers shared by the text-form tests: reading fixtures and round-tripping text.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ir/Parser.h"
#include "ir/Printer.h"

namespace tessera::ir::testing {

inline std::string fixtureDir() { return std::string(TESSERA_SOURCE_DIR) + "/tests/fixtures/ir"; }

inline std::vector<std::string> fixturePaths() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(fixtureDir()))
    if (e.path().extension() == ".tir") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Parses `text` or fails the test with the parser's message.
inline std::unique_ptr<Module> parseOrDie(const std::string& text,
                                          const std::string& file = "t.tir") {
  auto m = parseModule(text, file);
  EXPECT_TRUE(m.isOk()) << m.status().message() << "\n--- input ---\n" << text;
  if (!m.isOk()) return nullptr;
  return std::move(m).value();
}

// The error message of parsing `text`, or "OK" if it parsed.
inline std::string parseError(const std::string& text, const std::string& file = "t.tir") {
  auto m = parseModule(text, file);
  return m.isOk() ? "OK" : m.status().message();
}

}  // namespace tessera::ir::testing
