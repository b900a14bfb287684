// Helpers for the engine-under-MPI tests: the world's mesh, per-rank inputs every rank can compute
// for every rank (a seeded formula), the in-process simulation of all ranks as the independent
// meaning of a collective program, and an all-gather of each rank's outputs so that every rank can
// assemble the global result.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "codegen/Engine.h"
#include "codegen/dist/RankContext.h"
#include "ir/Parser.h"
#include "ir/Tensor.h"
#include "tests/mpi/support/MpiTest.h"
#include "tests/support/SplitMix64.h"

namespace tessera::engine_dist_test {

using comm::testing_support::world;

inline std::unique_ptr<ir::Module> parse(const std::string& text) {
  auto m = ir::parseModule(text, "test.tir");
  EXPECT_TRUE(m.isOk()) << m.status().message() << "\n" << text;
  return m.isOk() ? std::move(*m) : nullptr;
}

// A tensor of `shape` and dtype t whose values depend on (seed, rank) — every rank can make any
// rank's tensor.
inline ir::Tensor inputOf(ir::DType t, const std::vector<int64_t>& shape, uint64_t seed, int rank) {
  testing_support::SplitMix64 rng{seed * 7919 + static_cast<uint64_t>(rank) * 104729 + 1};
  std::vector<double> v(static_cast<size_t>(ir::numElementsOf(shape)));
  for (double& x : v) {
    switch (t) {
      case ir::DType::Bool: x = static_cast<double>(rng.below(2)); break;
      case ir::DType::I32:
      case ir::DType::I64: x = static_cast<double>(rng.below(2001)) - 1000; break;
      default: x = rng.uniform(-3, 3); break;
    }
  }
  return ir::Tensor(t, shape, std::move(v));
}

// Every element bitwise equal (doubles of the same dtype-rounded values).
inline void expectIdentical(const ir::Tensor& got, const ir::Tensor& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  int bad = 0;
  for (int64_t i = 0; i < want.numElements() && bad < 5; ++i)
    if (!(got[i] == want[i])) {
      ++bad;
      ADD_FAILURE() << what << " element " << i << ": got " << got[i] << ", want " << want[i];
    }
}

// Every rank's `local` (same shape on every rank), gathered in world-rank order.
inline std::vector<ir::Tensor> gatherAll(const ir::Tensor& local) {
  comm::Communicator& w = world();
  std::vector<double> all(local.data().size() * w.size());
  comm::Status s = w.allGather(local.data().data(), all.data(), local.data().size(),
                               comm::DataType::F64);
  EXPECT_TRUE(s.isOk()) << s.message();
  std::vector<ir::Tensor> out;
  for (int r = 0; r < w.size(); ++r) {
    auto b = all.begin() + static_cast<long>(r * local.data().size());
    out.emplace_back(local.dtype(), local.shape(),
                     std::vector<double>(b, b + static_cast<long>(local.data().size())));
  }
  return out;
}

}  // namespace tessera::engine_dist_test
