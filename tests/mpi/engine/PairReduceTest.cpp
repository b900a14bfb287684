// The two-rank sum all_reduce in halves (codegen/dist/PairReduce.h) against the gather-then-reduce
// form, bit for bit: f32 and f64, lengths 1 (one half empty), 2, 7, 4099 and 100003, out of place
// and in place, phase 2 issued explicitly or by finish — for the world at np 2 and for pairs of
// ranks at np 4. Then through the engine: a program of all_reduces over a group of two (large
// enough for the pair path) gives the same bits with the pair path on and off, blocking, async
// and bucketed, and equals the in-process simulation.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "codegen/Engine.h"
#include "codegen/dist/CollectiveCall.h"
#include "codegen/dist/PairReduce.h"
#include "codegen/runtime/TensorIO.h"
#include "partition/exec/InProcessExecutor.h"
#include "tests/mpi/engine/EngineDistUtil.h"

namespace tessera::engine_dist_test {
namespace {

using ir::DType;
using ir::Tensor;

std::vector<char> bytesOf(DType t, int64_t count, uint64_t seed, int pos) {
  Tensor x = inputOf(t, {count}, seed, pos);
  std::vector<char> b(static_cast<size_t>(count * ir::dtypeBytes(t)) + 8, 0);
  codegen::tensorToBuffer(x, b.data());
  return b;
}

void runPairs(comm::Communicator& c, const std::string& what) {
  ASSERT_EQ(c.size(), 2);
  uint64_t seed = 100;
  for (DType t : {DType::F32, DType::F64})
    for (int64_t count : {int64_t{1}, int64_t{2}, int64_t{7}, int64_t{4099}, int64_t{100003}})
      for (int mode = 0; mode < 4; ++mode) {
        const bool inPlace = mode & 1, explicitPhase2 = mode & 2;
        ++seed;
        const std::string label = what + " " + ir::dtypeName(t) + " length " +
                                  std::to_string(count) + (inPlace ? " in place" : "") +
                                  (explicitPhase2 ? " phase 2 explicit" : "");
        const int64_t bytes = count * ir::dtypeBytes(t);
        // Expected: both positions' data (every rank can make every rank's), reduced in order.
        std::vector<char> all(static_cast<size_t>(2 * bytes));
        for (int p = 0; p < 2; ++p) {
          std::vector<char> b = bytesOf(t, count, seed, p);
          std::memcpy(all.data() + p * bytes, b.data(), static_cast<size_t>(bytes));
        }
        std::vector<char> want(static_cast<size_t>(bytes) + 8, 0);
        codegen::reduceBlocks(all.data(), bytes, 2, count, t, ir::ReduceOp::Sum, want.data());
        std::vector<char> src = bytesOf(t, count, seed, c.rank());
        std::vector<char> dst(src.size(), 0);
        void* out = inPlace ? src.data() : dst.data();
        codegen::PairAllReduce r;
        ASSERT_TRUE(r.start(c, src.data(), out, count, t).isOk()) << label;
        EXPECT_TRUE(r.needsPhase2()) << label;
        if (explicitPhase2) {
          double w = 0, red = 0;
          ASSERT_TRUE(r.startPhase2(&w, &red).isOk()) << label;
          EXPECT_FALSE(r.needsPhase2()) << label;
        }
        ASSERT_TRUE(r.finish(nullptr, nullptr).isOk()) << label;
        EXPECT_EQ(std::memcmp(out, want.data(), static_cast<size_t>(bytes)), 0) << label;
        // The data really differs per rank (the sum is not just one rank's buffer).
        EXPECT_NE(std::memcmp(want.data(), all.data(), static_cast<size_t>(bytes)), 0) << label;
        EXPECT_EQ(r.wireBytes(), bytes) << label;
      }
}

TEST(PairAllReduce, BitwiseEqualToGatherThenReduce) {
  comm::Communicator& w = world();
  if (w.size() == 2) {
    runPairs(w, "np2");
    return;
  }
  auto pair = w.split(w.rank() / 2, w.rank(), "pair");
  ASSERT_TRUE(pair.isOk()) << pair.status().message();
  runPairs(**pair, "pair of np" + std::to_string(w.size()));
}

TEST(PairAllReduce, AppliesToTwoRankFloatSumsOnly) {
  EXPECT_TRUE(codegen::PairAllReduce::applies(2, DType::F32, ir::ReduceOp::Sum));
  EXPECT_TRUE(codegen::PairAllReduce::applies(2, DType::F64, ir::ReduceOp::Sum));
  EXPECT_FALSE(codegen::PairAllReduce::applies(3, DType::F32, ir::ReduceOp::Sum));
  EXPECT_FALSE(codegen::PairAllReduce::applies(2, DType::F32, ir::ReduceOp::Max));
  EXPECT_FALSE(codegen::PairAllReduce::applies(2, DType::I32, ir::ReduceOp::Sum));
  EXPECT_FALSE(codegen::PairAllReduce::applies(2, DType::F16, ir::ReduceOp::Sum));
  EXPECT_EQ(codegen::PairAllReduce::firstHalf(7), 4);
  EXPECT_EQ(codegen::PairAllReduce::firstHalf(1), 1);
}

// Three f32 all_reduces of 24 KB (above the pair path's 16 KiB) over the group of two along `b`
// (at np 4 the mesh's other axis makes two such groups); two of them start back to back and
// share a bucket when bucketed.
std::string pairModule(int np) {
  const std::string mesh = np == 4 ? "<a=2, b=2>" : "<b=2>";
  return "module @p {\n  mesh @m = " + mesh +
         "\n  func @main(%x: f32[3000,2], %y: f32[6000]) -> (f32[6000], f32[6000]) {\n"
         "    %r1 = all_reduce %x axes=[b] op=sum : f32[3000,2]\n"
         "    %r2 = all_reduce %y axes=[b] op=sum : f32[6000]\n"
         "    %r3 = all_reduce %x axes=[b] op=sum : f32[3000,2]\n"
         "    %f1 = reshape %r1 : f32[6000]\n"
         "    %f3 = reshape %r3 : f32[6000]\n"
         "    %s = add %f1, %r2 : f32[6000]\n"
         "    %t = mul %f3, %r2 : f32[6000]\n"
         "    return %s, %t\n  }\n}\n";
}

TEST(PairAllReduce, EngineGivesTheSameBitsWithThePairPathOnAndOff) {
  const int np = world().size();
  auto m = parse(pairModule(np));
  ASSERT_TRUE(m);
  const ir::Function* f = m->findFunction("main");
  auto in = [&](int r) {
    return std::vector<Tensor>{inputOf(DType::F32, {3000, 2}, 31, r),
                               inputOf(DType::F32, {6000}, 32, r)};
  };
  std::vector<std::vector<Tensor>> inputs;
  for (int r = 0; r < np; ++r) inputs.push_back(in(r));
  auto sim = partition::runRanks(m->meshes[0], std::vector<const ir::Function*>(np, f), inputs);
  ASSERT_TRUE(sim.isOk()) << sim.status().message();
  auto rank = codegen::RankContext::create(world(), m->meshes[0], *f);
  ASSERT_TRUE(rank.isOk()) << rank.status().message();
  std::vector<Tensor> first;
  for (int mode = 0; mode < 6; ++mode) {
    const bool pairOn = mode % 2 == 0, async = mode >= 2, bucketed = mode >= 4;
    const std::string label = std::string(pairOn ? "pair" : "gather") +
                              (async ? bucketed ? " async bucketed" : " async" : " blocking");
    codegen::RankContext& rc = **rank;
    rc.options.async = async;
    rc.options.bucketBytes = bucketed ? 4 << 20 : 0;
    rc.options.pairMinBytes = pairOn ? 16 << 10 : -1;
    codegen::EngineOptions o;
    o.threads = 1;
    o.rank = &rc;
    auto engine = codegen::Engine::compile(*m, "main", o);
    ASSERT_TRUE(engine.isOk()) << engine.status().message();
    const std::vector<Tensor> mine = in(world().rank());
    auto out = (*engine)->run({{"x", mine[0]}, {"y", mine[1]}});
    ASSERT_TRUE(out.isOk()) << label << ": " << out.status().message();
    ASSERT_EQ(out->size(), 2u);
    for (size_t k = 0; k < 2; ++k)
      expectIdentical((*out)[k], (*sim)[world().rank()][k], label + " vs simulation, output " +
                                                                std::to_string(k));
    if (first.empty()) first = *out;
    for (size_t k = 0; k < 2; ++k)
      expectIdentical((*out)[k], first[k], label + " vs pair blocking, output " + std::to_string(k));
  }
}

}  // namespace
}  // namespace tessera::engine_dist_test
