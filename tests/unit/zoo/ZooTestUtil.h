// Helpers for the zoo tests: building a model (failing the test on error), counting parameter
// elements, and deterministic token batches.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "frontend/Zoo.h"
#include "ir/Tensor.h"

namespace tessera::frontend::testing {

inline std::unique_ptr<ir::Module> build(const std::string& name,
                                         const std::map<std::string, std::string>& options = {}) {
  auto m = buildZooModel(name, options);
  EXPECT_TRUE(m.isOk()) << name << ": " << m.status().message();
  return m.isOk() ? std::move(*m) : nullptr;
}

inline int64_t paramElements(const ir::Module& m) {
  int64_t n = 0;
  for (const ir::Parameter& p : m.params) n += p.type.numElements().constant().value();
  return n;
}

// b x s token ids in [0, vocab), from a small linear congruential sequence.
inline ir::Tensor tokenBatch(int64_t b, int64_t s, int64_t vocab, uint64_t seed) {
  std::vector<double> v;
  uint64_t x = seed * 2654435761u + 12345;
  for (int64_t i = 0; i < b * s; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    v.push_back(static_cast<double>((x >> 33) % static_cast<uint64_t>(vocab)));
  }
  return ir::Tensor(ir::DType::I64, {b, s}, v);
}

}  // namespace tessera::frontend::testing
