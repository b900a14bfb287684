// The two-phase all_reduce (codegen/dist/TwoPhaseReduce.h) against the one-call form it replaces,
// bit for bit: for groups of n = 2 (np 2; pairs at np 4), 3 (the first three ranks at np 4) and 4,
// every element type and reduction the engine supports, and lengths that no n divides (1, 7, 13,
// 1001, 4099) — on seeded random data every rank can compute for every rank.
//
// The one-call form is written out here as the old code did it: gather every member's whole
// buffer (as 32-bit words), reduce the n blocks per element in group order with reduceBlocks.
// The test also checks the second phase may be issued late (after the first completed) and
// that the result is the same on every member (gathered over the group and compared).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "codegen/dist/CollectiveCall.h"
#include "codegen/dist/TwoPhaseReduce.h"
#include "codegen/runtime/TensorIO.h"
#include "tests/mpi/engine/EngineDistUtil.h"

namespace tessera::engine_dist_test {
namespace {

using ir::DType;

// Random payload of `count` elements of t (as stored in memory), from (seed, group position).
std::vector<uint32_t> payload(DType t, int64_t count, uint64_t seed, int pos) {
  ir::Tensor x = inputOf(t, {count}, seed, pos);
  const int64_t bytes = count * ir::dtypeBytes(t);
  std::vector<uint32_t> words(static_cast<size_t>((bytes + 3) / 4 + 1), 0);
  codegen::tensorToBuffer(x, words.data());
  return words;
}

// The one-call form: all_gather of whole buffers, then reduceBlocks in group order.
std::vector<uint32_t> oneCall(comm::Communicator& c, const std::vector<uint32_t>& mine, DType t,
                              int64_t count, ir::ReduceOp op) {
  const int64_t bytes = count * ir::dtypeBytes(t), w = (bytes + 3) / 4;
  std::vector<uint32_t> all(static_cast<size_t>(c.size() * w));
  EXPECT_TRUE(c.allGather(mine.data(), all.data(), static_cast<size_t>(w), comm::DataType::I32).isOk());
  std::vector<uint32_t> out(static_cast<size_t>(w + 1), 0);
  codegen::reduceBlocks(all.data(), w * 4, c.size(), count, t, op, out.data());
  return out;
}

void runGroup(comm::Communicator& c, const std::string& what) {
  const std::vector<DType> types = {DType::F32, DType::F64, DType::I32, DType::I64,
                                    DType::Bool, DType::F16, DType::BF16};
  const std::vector<ir::ReduceOp> ops = {ir::ReduceOp::Sum, ir::ReduceOp::Max, ir::ReduceOp::Min};
  uint64_t seed = 1;
  for (DType t : types)
    for (ir::ReduceOp op : ops)
      for (int64_t count : {int64_t{1}, int64_t{7}, int64_t{13}, int64_t{1001}, int64_t{4099}}) {
        ++seed;
        const std::string label = what + " " + ir::dtypeName(t) + " op " +
                                  std::to_string(static_cast<int>(op)) + " length " +
                                  std::to_string(count);
        std::vector<uint32_t> mine = payload(t, count, seed, c.rank());
        std::vector<uint32_t> want = oneCall(c, mine, t, count, op);
        codegen::TwoPhaseAllReduce r;
        ASSERT_TRUE(r.start(c, mine.data(), count, t, op).isOk()) << label;
        if (seed % 2) {  // the second phase issued explicitly (as the runner does) or by finish
          double waited = 0;
          ASSERT_TRUE(r.startPhase2(&waited).isOk()) << label;
        }
        ASSERT_TRUE(r.finish(nullptr).isOk()) << label;
        const int64_t bytes = count * ir::dtypeBytes(t);
        EXPECT_EQ(std::memcmp(r.result(), want.data(), static_cast<size_t>(bytes)), 0) << label;
        // Not all zeros (the comparison is of something): sums and maxima of random data (a
        // single bool may well be false everywhere).
        bool nonzero = false;
        for (int64_t b = 0; b < bytes; ++b)
          nonzero = nonzero || static_cast<const char*>(r.result())[b] != 0;
        if (t != DType::Bool || (op != ir::ReduceOp::Min && count > 1)) {
          EXPECT_TRUE(nonzero) << label;
        }
      }
}

TEST(TwoPhaseAllReduce, BitwiseEqualToGatherThenReduce) {
  comm::Communicator& w = world();
  if (w.size() == 2) {
    runGroup(w, "n=2");
    return;
  }
  ASSERT_EQ(w.size(), 4);
  runGroup(w, "n=4");
  // n = 3: the first three ranks; the fourth is alone in its group (and checks n = 1).
  auto three = w.split(w.rank() < 3 ? 0 : 1, w.rank(), "three");
  ASSERT_TRUE(three.isOk()) << three.status().message();
  runGroup(**three, (*three)->size() == 3 ? "n=3" : "n=1");
  // n = 2: pairs.
  auto pair = w.split(w.rank() / 2, w.rank(), "pair");
  ASSERT_TRUE(pair.isOk()) << pair.status().message();
  runGroup(**pair, "n=2");
}

// The chunking: equal chunks of whole 32-bit words that cover the buffer.
TEST(TwoPhaseAllReduce, ChunksAreWholeWordsCoveringTheBuffer) {
  EXPECT_EQ(codegen::TwoPhaseAllReduce::chunkElements(1001, 4, DType::F32), 251);
  EXPECT_EQ(codegen::TwoPhaseAllReduce::chunkElements(1001, 4, DType::F16), 252);
  EXPECT_EQ(codegen::TwoPhaseAllReduce::chunkElements(13, 3, DType::Bool), 8);
  EXPECT_EQ(codegen::TwoPhaseAllReduce::chunkElements(1, 4, DType::F64), 1);
  EXPECT_EQ(codegen::TwoPhaseAllReduce::chunkElements(0, 4, DType::F32), 1);
}

}  // namespace
}  // namespace tessera::engine_dist_test
