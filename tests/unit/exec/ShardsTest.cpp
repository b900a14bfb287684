// Shards of global tensors: each rank's block under even and uneven splits (checked element by
// element against the definition: rows [p*L, p*L+L) with L = ceil(D/n), zero padding), and
// assembling pieces back — including partial sums and replicated axes counted once.
#include <gtest/gtest.h>

#include "partition/exec/Shards.h"

namespace tessera {
namespace {

using ir::DType;
using ir::Tensor;

ir::Sharding sharding(std::vector<std::vector<std::string>> dims,
                      std::vector<std::pair<std::string, ir::PartialKind>> partial = {}) {
  ir::Sharding s;
  for (auto& d : dims) s.dims.push_back(ir::DimSharding{d, false, std::nullopt});
  s.partial = std::move(partial);
  return s;
}

TEST(Shards, UnevenRowsArePaddedWithZeros) {
  ir::Mesh mesh = ir::Mesh::make("m", {{"dp", 2}, {"tp", 2}});
  Tensor g(DType::F32, {5, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  ir::Sharding s = sharding({{"tp"}, {}});
  // tp = rank % 2; L = 3: tp 0 holds rows 0..2, tp 1 rows 3..4 and a zero row.
  EXPECT_EQ(partition::shardOf(g, mesh, s, 0).data(), (std::vector<double>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(partition::shardOf(g, mesh, s, 3).data(), (std::vector<double>{6, 7, 8, 9, 0, 0}));
  std::vector<Tensor> pieces;
  for (int r = 0; r < 4; ++r) pieces.push_back(partition::shardOf(g, mesh, s, r));
  auto back = partition::assemble(pieces, mesh, s, {5, 2});
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ(*back, g);
}

TEST(Shards, TwoAxesOnOneDimAreMajorToMinor) {
  ir::Mesh mesh = ir::Mesh::make("m", {{"dp", 2}, {"tp", 2}});
  Tensor g(DType::F32, {4}, {10, 11, 12, 13});
  ir::Sharding s = sharding({{"tp", "dp"}});
  // Position = tp * 2 + dp; rank 1 is (dp 0, tp 1) -> position 2 -> element 12.
  EXPECT_EQ(partition::shardOf(g, mesh, s, 1)[0], 12);
  EXPECT_EQ(partition::shardOf(g, mesh, s, 2)[0], 11);
}

TEST(Shards, PartialSumsAddUpAndReplicasCountOnce) {
  ir::Mesh mesh = ir::Mesh::make("m", {{"dp", 2}, {"tp", 2}});
  ir::Sharding s = sharding({{}}, {{"tp", ir::PartialKind::Sum}});
  // Pieces differ on every rank; dp is replicated so only dp = 0 (ranks 0, 1) counts.
  std::vector<Tensor> pieces;
  for (int r = 0; r < 4; ++r) pieces.push_back(Tensor(DType::F32, {2}, {1.0 + r, 100.0 * r}));
  auto sum = partition::assemble(pieces, mesh, s, {2});
  ASSERT_TRUE(sum.isOk());
  EXPECT_EQ(sum->data(), (std::vector<double>{1 + 2, 0 + 100}));
}

}  // namespace
}  // namespace tessera
