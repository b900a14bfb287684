// What auto's objective is: recompute time estimated per op (GEMM FLOPs at a GEMM rate, other
// ops' bytes at a bandwidth), checked by hand on a small function; and the DP minimizing that
// time, exactly, on hand-built chains where the fewest-FLOPs plan and the fastest plan differ.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "ir/Module.h"
#include "ir/Parser.h"
#include "passes/remat/RecomputeCost.h"
#include "passes/remat/RematSolver.h"

namespace tessera::passes {
namespace {

// B=2: x [2,8], w [8,4] -> h [2,4]; g = gelu(h).
const char* kMlp = R"(
module @mlp {
  sym B
  func @f(%x: f32[B,8], %w: f32[8,4]) -> f32[B,4] {
    %h = matmul %x, %w : f32[B,4]
    %g = gelu %h : f32[B,4]
    return %g
  }
}
)";

TEST(RecomputeCost, GemmAtTheGemmRateOtherOpsByBytesAtTheBandwidth) {
  StatusOr<std::unique_ptr<ir::Module>> m = ir::parseModule(kMlp, "mlp.tir");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  const ir::Function& f = *(*m)->findFunction("f");
  const ir::Op& mm = *f.ops()[0];
  const ir::Op& gelu = *f.ops()[1];
  const std::map<std::string, int64_t> syms{{"B", 2}};
  // matmul: 2 * (2*4 results) * 8 = 128 FLOPs; gelu: 8 results, 8 FLOPs.
  EXPECT_EQ(*opFlops(mm, syms), 128);
  EXPECT_EQ(*opFlops(gelu, syms), 8);
  EXPECT_TRUE(isContraction(mm));
  EXPECT_FALSE(isContraction(gelu));
  // gelu reads h (8 floats) and writes g (8 floats): 64 bytes.
  EXPECT_EQ(*opBytesMoved(gelu, syms), 64);
  // matmul moves x 64 + w 128 + h 32 bytes, but is priced by FLOPs.
  EXPECT_EQ(*opBytesMoved(mm, syms), 224);
  RecomputeRates r;
  r.gemmFlopsPerSecond = 64;  // 128 FLOPs -> 2 s
  r.bytesPerSecond = 16;      // 64 bytes -> 4 s
  EXPECT_DOUBLE_EQ(*opRecomputeSeconds(mm, syms, r), 2.0);
  EXPECT_DOUBLE_EQ(*opRecomputeSeconds(gelu, syms, r), 4.0);
  // Twice the batch: twice of each.
  EXPECT_DOUBLE_EQ(*opRecomputeSeconds(mm, {{"B", 4}}, r), 4.0);
  EXPECT_DOUBLE_EQ(*opRecomputeSeconds(gelu, {{"B", 4}}, r), 8.0);
  // An unbound symbol is an error, not a crash.
  EXPECT_FALSE(opRecomputeSeconds(gelu, {}, r).isOk());
}

// Two layers on one anchor (base 100 bytes). Selective frees 30 bytes for 1 FLOP but 60 ns (a
// memory-bound kernel); full frees 50 bytes for 100 FLOPs, 100 ns. At budget 50 (free >= 50):
//   s+s: 2 FLOPs, 120 ns (peak 40);  f+k or k+f: 100 FLOPs, 100 ns (peak 50);
//   s+f/f+s: 101 FLOPs, 160 ns;  f+f: 200 FLOPs, 200 ns.
// Fewest FLOPs is s+s; least time is full on one layer, keep on the other (tie: either layer).
RematCosts twoLayers(int64_t selectiveNanos) {
  RematCosts c;
  c.base = {100};
  c.layers.resize(2);
  for (auto& l : c.layers) {
    l[static_cast<int>(RematChoice::Selective)] = {{{0, -30}}, 1, selectiveNanos};
    l[static_cast<int>(RematChoice::Full)] = {{{0, -50}}, 100, 100};
  }
  return c;
}

TEST(RecomputeCost, DpMinimizesTimeWhereFewestFlopsIsSlower) {
  const RematCosts c = twoLayers(60);
  std::optional<RematSolution> s = solveMinRecompute(c, 50);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->nanos, 100);
  EXPECT_EQ(s->flops, 100);
  EXPECT_EQ(s->peak, 50);
  int full = 0, keep = 0;
  for (RematChoice ch : s->choices) {
    full += ch == RematChoice::Full;
    keep += ch == RematChoice::Keep;
  }
  EXPECT_EQ(full, 1);
  EXPECT_EQ(keep, 1);
  // With selective cheap in time too (40 ns: s+s = 80 ns), s+s wins on both counts.
  s = solveMinRecompute(twoLayers(40), 50);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->choices, std::vector<RematChoice>(2, RematChoice::Selective));
  EXPECT_EQ(s->nanos, 80);
  EXPECT_EQ(s->peak, 40);
  // Equal time (50 ns: s+s = 100 ns = f+k): fewer FLOPs breaks the tie.
  s = solveMinRecompute(twoLayers(50), 50);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->choices, std::vector<RematChoice>(2, RematChoice::Selective));
  EXPECT_EQ(s->flops, 2);
  // No time estimates at all (hand-built FLOP-only costs): fewest FLOPs, as before.
  RematCosts flopsOnly = twoLayers(0);
  for (auto& l : flopsOnly.layers) l[static_cast<int>(RematChoice::Full)].nanos = 0;
  s = solveMinRecompute(flopsOnly, 50);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->choices, std::vector<RematChoice>(2, RematChoice::Selective));
  // A budget nothing meets: f+f frees 100 -> peak 0 is the least; -1 is infeasible.
  EXPECT_FALSE(solveMinRecompute(c, -1));
  EXPECT_EQ(solveMinPeak(c).peak, 0);
}

// Brute force over all 4^L plans (keep, selective, full, mlp) of a random chain (each layer's
// entries change its own anchor and the shared final anchor): the DP's time is the minimum, its
// peak within the budget.
TEST(RecomputeCost, DpEqualsBruteForceOnRandomChains) {
  uint64_t seed = 12345;
  auto next = [&](int64_t n) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int64_t>((seed >> 33) % static_cast<uint64_t>(n));
  };
  int solved = 0, withMlp = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const int L = 4;
    RematCosts c;
    c.base.assign(L + 1, 0);
    for (int t = 0; t <= L; ++t) c.base[t] = 200 + next(100);
    c.layers.resize(L);
    for (int l = 0; l < L; ++l)
      for (RematChoice ch : {RematChoice::Selective, RematChoice::Mlp, RematChoice::Full}) {
        auto& e = c.layers[l][static_cast<int>(ch)];
        const int64_t freed = ch == RematChoice::Full  ? 40 + next(40)
                              : ch == RematChoice::Mlp ? 25 + next(30)
                                                       : 10 + next(30);
        // Own anchor sees the freed bytes minus a recompute buffer; later anchors all of it.
        e.delta.emplace_back(l, -freed + next(10));
        for (int t = l + 1; t <= L; ++t) e.delta.emplace_back(t, -freed);
        e.flops = ch == RematChoice::Full  ? 1000 + next(500)
                  : ch == RematChoice::Mlp ? 300 + next(300)
                                           : 1 + next(10);
        e.nanos = ch == RematChoice::Full  ? 100 + next(100)
                  : ch == RematChoice::Mlp ? 50 + next(100)
                                           : 20 + next(80);
      }
    const int64_t budget = 150 + next(150);
    std::optional<std::pair<int64_t, int64_t>> best;  // (nanos, flops)
    const int n = kRematMenuSize;  // every entry (attn, attn+mlp empty here: plans as keep)
    int plans = 1;
    for (int l = 0; l < L; ++l) plans *= n;
    for (int code = 0; code < plans; ++code) {
      std::vector<RematChoice> ch;
      int64_t nanos = 0, flops = 0;
      for (int l = 0, x = code; l < L; ++l, x /= n) {
        ch.push_back(kRematMenu[x % n]);
        nanos += c.layers[l][static_cast<int>(kRematMenu[x % n])].nanos;
        flops += c.layers[l][static_cast<int>(kRematMenu[x % n])].flops;
      }
      if (predictedPeak(c, ch) > budget) continue;
      if (!best || std::make_pair(nanos, flops) < *best) best = std::make_pair(nanos, flops);
    }
    std::optional<RematSolution> s = solveMinRecompute(c, budget);
    ASSERT_EQ(s.has_value(), best.has_value()) << "trial " << trial;
    if (!s) continue;
    EXPECT_EQ(std::make_pair(s->nanos, s->flops), *best) << "trial " << trial;
    EXPECT_LE(predictedPeak(c, s->choices), budget);
    EXPECT_EQ(predictedPeak(c, s->choices), s->peak);
    solved += best->first > 0;
    withMlp += std::count(s->choices.begin(), s->choices.end(), RematChoice::Mlp) > 0;
  }
  EXPECT_GT(solved, 10);  // budgets that force some recompute were tried
  EXPECT_GT(withMlp, 0);  // and the fourth entry was the best choice somewhere
}

}  // namespace
}  // namespace tessera::passes
