// The per-layer recompute program (partition/planner/RecomputeProgram.h): hand-computed
// instances (a mix that beats every "k full + the rest on one item" choice, an MoE kind that is
// worth recomputing, an infeasible one stating its minimum memory, bad input), and random
// instances where CBC's optimum, the exact fallback's and a brute-force enumeration written here
// agree.
#include <gtest/gtest.h>

#include <ctime>
#include <cmath>
#include <cstdio>
#include <functional>

#include "partition/planner/RecomputeProgram.h"
#include "tests/support/SplitMix64.h"

namespace tessera::partition::planner {
namespace {

// Items: 0 none, 1 selective, 2 full.
RecomputeKind kind(const std::string& name, int64_t count, std::vector<double> t, std::vector<double> b) {
  return {name, count, std::move(t), std::move(b)};
}

std::vector<RecomputeSolver> solvers() {
  std::vector<RecomputeSolver> s{RecomputeSolver::Exact};
  if (cbcAvailable()) s.push_back(RecomputeSolver::Cbc);
  return s;
}

// 6 dense layers; none: 10 s, 6 B; selective: 11 s, 3 B; full: 14 s, 1 B (per layer, in-flight
// multiplier applied); limit 22 B, nothing fixed. With a none, c full and 6-a-c selective layers:
// time 66 - a + 3c, memory 18 + 3a - 2c <= 22. c = 0: a <= 1 -> 65 s; c = 1: a <= 2 -> 67 s;
// c = 2: a <= 2 -> 70 s. Optimum: 1 none + 5 selective, 65 s, 21 B. The old "k full + the rest
// on one item": rest none needs 36 - 5k <= 22, k = 3: 72 s; rest selective, k = 0: 66 s.
TEST(RecomputeProgram, MixOfNoneAndSelectiveBeatsKFullPlusOneItem) {
  RecomputeProblem p;
  p.kinds = {kind("dense", 6, {10, 11, 14}, {6, 3, 1})};
  p.limitBytes = 22;
  for (RecomputeSolver s : solvers()) {
    auto r = solveRecompute(p, s);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    ASSERT_TRUE(r->feasible);
    EXPECT_EQ(r->counts[0], (std::vector<int64_t>{1, 5, 0})) << r->solver;
    EXPECT_DOUBLE_EQ(r->seconds, 65);
    EXPECT_DOUBLE_EQ(r->bytes, 21);
  }
}

// A three-way mix: none 10 s / 10 B, selective 12 s / 5 B, full 15 s / 1 B; 6 layers, 8 B
// fixed, limit 45 B (37 B for the layers). Per layer: from selective, none costs +5 B for -2 s
// (0.4 s/B); full saves 4 B for +3 s (0.75 s/B). Best: a none layers, c full, 6-a-c selective
// with 30 + 5a - 4c <= 37: (a, c) = (1, 0) 70 s -> 35 + 8 = 43 B... (2, 1): 30+10-4 = 36 <= 37,
// time 20 + 36 + 15 = 71 > 70; (3, 2): 30+15-8 = 37 fits, time 30 + 12 + 30 = 72. (1,0): 10 +
// 60 = 70 s, 35 B. "k full + rest none": 10(6-k) + k <= 37 -> k >= 3: 3 none + 3 full = 75 s.
// "k full + rest selective": k = 0: 72 s. The mix 1 none + 5 selective (70 s) wins.
// With limit 49 B (41 B for layers): (2, 0): 40 > 41? 30 + 10 = 40 fits: 20 + 48 = 68 s; (3, 1):
// 30 + 15 - 4 = 41 fits: 30 + 24 + 15 = 69 s; (2,0) wins. With a second kind (MoE: none 30 s /
// 40 B, full 40 s / 2 B, selective 31 s / 30 B; 1 layer) and limit 49 + 2 = 51 B: the MoE layer
// must go full (38 B more would not fit) -> dense (2,0): 68 + 40 = 108 s, 8+40+2 = 50 B.
TEST(RecomputeProgram, ThreeWayMixAndARecomputedMoeLayer) {
  RecomputeProblem p;
  p.kinds = {kind("dense", 6, {10, 12, 15}, {10, 5, 1})};
  p.fixedBytes = 8;
  p.limitBytes = 45;
  RecomputeProblem q = p;
  q.limitBytes = 49;
  RecomputeProblem moe = q;
  moe.kinds.push_back(kind("moe", 1, {30, 31, 40}, {40, 30, 2}));
  moe.limitBytes = 51;
  for (RecomputeSolver s : solvers()) {
    auto r = solveRecompute(p, s);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r->counts[0], (std::vector<int64_t>{1, 5, 0}));
    EXPECT_DOUBLE_EQ(r->seconds, 70);
    auto r2 = solveRecompute(q, s);
    ASSERT_TRUE(r2.isOk());
    EXPECT_EQ(r2->counts[0], (std::vector<int64_t>{2, 4, 0}));
    EXPECT_DOUBLE_EQ(r2->seconds, 68);
    auto r3 = solveRecompute(moe, s);
    ASSERT_TRUE(r3.isOk());
    ASSERT_TRUE(r3->feasible);
    EXPECT_EQ(r3->counts[0], (std::vector<int64_t>{2, 4, 0}));
    EXPECT_EQ(r3->counts[1], (std::vector<int64_t>{0, 0, 1}));
    EXPECT_DOUBLE_EQ(r3->seconds, 108);
    EXPECT_DOUBLE_EQ(r3->bytes, 50);
  }
}

// Over the limit on every choice: the least memory is every layer on its smallest item,
// 8 + 6*1 + 2 = 16 B.
TEST(RecomputeProgram, InfeasibleStatesTheMinimumMemory) {
  RecomputeProblem p;
  p.kinds = {kind("dense", 6, {10, 12, 15}, {10, 5, 1}), kind("moe", 1, {30, 31, 40}, {40, 30, 2})};
  p.fixedBytes = 8;
  p.limitBytes = 15.5;
  for (RecomputeSolver s : solvers()) {
    auto r = solveRecompute(p, s);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_FALSE(r->feasible);
    EXPECT_TRUE(r->counts.empty());
    EXPECT_DOUBLE_EQ(r->minBytes, 16);
  }
  p.limitBytes = 16;  // exactly the minimum: fits, everything recomputed
  for (RecomputeSolver s : solvers()) {
    auto r = solveRecompute(p, s);
    ASSERT_TRUE(r.isOk());
    ASSERT_TRUE(r->feasible);
    EXPECT_EQ(r->counts[0], (std::vector<int64_t>{0, 0, 6}));
    EXPECT_DOUBLE_EQ(r->seconds, 90 + 40);
  }
}

TEST(RecomputeProgram, BadInputIsAnError) {
  RecomputeProblem p;
  EXPECT_FALSE(solveRecompute(p).isOk());  // no kinds
  p.kinds = {kind("dense", 2, {1, 2}, {1})};
  p.limitBytes = 10;
  auto r = solveRecompute(p);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("kind 'dense'"), std::string::npos) << r.status().message();
  p.kinds = {kind("dense", -1, {1}, {1})};
  EXPECT_FALSE(solveRecompute(p).isOk());
  p.kinds = {kind("dense", 1, {NAN}, {1})};
  EXPECT_FALSE(solveRecompute(p).isOk());
  p.kinds = {kind("dense", 1, {1}, {1})};
  p.limitBytes = 0;
  EXPECT_FALSE(solveRecompute(p).isOk());
  if (!cbcAvailable()) {
    p.limitBytes = 10;
    EXPECT_FALSE(solveRecompute(p, RecomputeSolver::Cbc).isOk());
  }
}

// Brute force: every assignment of counts, independent of both solvers.
double bruteForce(const RecomputeProblem& p) {
  double best = INFINITY;
  const size_t I = p.kinds[0].seconds.size();
  std::function<void(size_t, size_t, int64_t, double, double)> rec = [&](size_t k, size_t i, int64_t left,
                                                                         double t, double b) {
    if (k == p.kinds.size()) {
      if (b <= p.limitBytes * (1 + 1e-9)) best = std::min(best, t);
      return;
    }
    const RecomputeKind& kk = p.kinds[k];
    if (i + 1 == I) {
      rec(k + 1, 0, k + 1 < p.kinds.size() ? p.kinds[k + 1].count : 0, t + left * kk.seconds[i],
          b + left * kk.bytes[i]);
      return;
    }
    for (int64_t n = 0; n <= left; ++n)
      rec(k, i + 1, left - n, t + n * kk.seconds[i], b + n * kk.bytes[i]);
  };
  rec(0, 0, p.kinds[0].count, 0, p.fixedBytes);
  return best;
}

// Shapes like a stage's: none fastest and largest, full slowest and smallest (most of the time;
// a quarter of the kinds get unordered coefficients), 1-3 kinds of 0-14 layers, the limit
// anywhere between the least memory and the most.
RecomputeProblem randomProblem(testing_support::SplitMix64& g) {
  RecomputeProblem p;
  const size_t kinds = 1 + g.below(3);
  double lo = 0, hi = 0;
  p.fixedBytes = g.uniform(0, 5e9);
  for (size_t k = 0; k < kinds; ++k) {
    RecomputeKind kk;
    kk.name = "k" + std::to_string(k);
    kk.count = static_cast<int64_t>(g.below(15));
    const bool ordered = g.below(4) != 0;
    double t = g.uniform(1e-3, 5e-2), b = g.uniform(1e8, 4e9);
    for (int i = 0; i < 3; ++i) {
      kk.seconds.push_back(t);
      kk.bytes.push_back(b);
      t = ordered ? t * g.uniform(1.0, 1.5) : g.uniform(1e-3, 5e-2);
      b = ordered ? b * g.uniform(0.05, 1.0) : g.uniform(1e8, 4e9);
    }
    lo += static_cast<double>(kk.count) * *std::min_element(kk.bytes.begin(), kk.bytes.end());
    hi += static_cast<double>(kk.count) * *std::max_element(kk.bytes.begin(), kk.bytes.end());
    p.kinds.push_back(std::move(kk));
  }
  // 10% of the instances below the least memory (infeasible).
  p.limitBytes = p.fixedBytes + (g.below(10) == 0 ? lo * g.uniform(0.5, 0.999) - 1 : g.uniform(lo, hi) + 1);
  if (p.limitBytes <= 0) p.limitBytes = 1;
  return p;
}

TEST(RecomputeProgram, RandomInstancesCbcEqualsExactEqualsBruteForce) {
  testing_support::SplitMix64 g{20261126};
  int feasible = 0, infeasible = 0;
  double exactSec = 0, cbcSec = 0;
  const int n = 250;
  for (int it = 0; it < n; ++it) {
    RecomputeProblem p = randomProblem(g);
    const double brute = bruteForce(p);
    // CPU time (the machine running the tests is often shared): what each solver costs.
    std::clock_t t0 = std::clock();
    auto ex = solveRecompute(p, RecomputeSolver::Exact);
    exactSec += static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
    ASSERT_TRUE(ex.isOk()) << ex.status().message();
    EXPECT_EQ(ex->feasible, std::isfinite(brute)) << it;
    (ex->feasible ? feasible : infeasible)++;
    if (ex->feasible) {
      EXPECT_NEAR(ex->seconds, brute, 1e-9 * brute) << it;
      EXPECT_LE(ex->bytes, p.limitBytes * (1 + 1e-9)) << it;
      for (size_t k = 0; k < p.kinds.size(); ++k) {
        int64_t sum = 0;
        for (int64_t c : ex->counts[k]) sum += c;
        EXPECT_EQ(sum, p.kinds[k].count);
      }
    }
    if (!cbcAvailable()) continue;
    t0 = std::clock();
    auto cb = solveRecompute(p, RecomputeSolver::Cbc);
    cbcSec += static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC;
    ASSERT_TRUE(cb.isOk()) << cb.status().message();
    EXPECT_EQ(cb->feasible, ex->feasible) << it;
    if (cb->feasible && ex->feasible) {
      EXPECT_NEAR(cb->seconds, ex->seconds, 1e-9 * ex->seconds) << it;
      EXPECT_LE(cb->bytes, p.limitBytes * (1 + 1e-9)) << it;
    }
  }
  EXPECT_GT(feasible, n / 2);
  EXPECT_GT(infeasible, 5);
  std::printf("%d instances (%d feasible, %d infeasible), CPU per solve: exact %.1f us, cbc %s\n", n, feasible,
              infeasible, exactSec / n * 1e6,
              cbcAvailable() ? (std::to_string(cbcSec / n * 1e6) + " us").c_str() : "not built");
  if (!cbcAvailable()) GTEST_SKIP() << "built without CBC: the exact solver was checked against brute force only";
}

// A stage-sized instance (128 layers, two kinds): both solvers agree on it too.
TEST(RecomputeProgram, LargeStageBothSolversAgree) {
  RecomputeProblem p;
  p.kinds = {kind("dense", 112, {0.020, 0.021, 0.027}, {3.0e8, 1.2e8, 0.2e8}),
             kind("moe", 16, {0.030, 0.032, 0.041}, {6.0e8, 2.5e8, 0.4e8})};
  p.fixedBytes = 30e9;
  p.limitBytes = 60e9;
  auto ex = solveRecompute(p, RecomputeSolver::Exact);
  ASSERT_TRUE(ex.isOk());
  ASSERT_TRUE(ex->feasible);
  // Everything on none needs 30 + 112*0.3 + 16*0.6 = 73.2 GB: something is recomputed.
  EXPECT_GT(ex->seconds, 112 * 0.020 + 16 * 0.030);
  EXPECT_LE(ex->bytes, 60e9 * (1 + 1e-9));
  if (!cbcAvailable()) GTEST_SKIP() << "built without CBC";
  auto cb = solveRecompute(p, RecomputeSolver::Cbc);
  ASSERT_TRUE(cb.isOk()) << cb.status().message();
  ASSERT_TRUE(cb->feasible);
  EXPECT_NEAR(cb->seconds, ex->seconds, 1e-9 * ex->seconds);
}

}  // namespace
}  // namespace tessera::partition::planner
