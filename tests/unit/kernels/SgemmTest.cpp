// Tessera's own sgemm (codegen/runtime/gemm/) against a naive double-accumulation reference: odd
// shapes that leave ragged micro-tiles, shapes that cross every block boundary (MC rows, KC
// depth, NC columns), all four transpose forms, leading dimensions wider than the matrices, 1 and
// 2 threads, batched problems through runGemm; and determinism (bitwise equal across thread
// counts, repeated runs, and sub-problems), and the packed layouts themselves.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <thread>
#include <utility>
#include <vector>

#include "codegen/runtime/GemmRunner.h"
#include "codegen/runtime/ThreadPool.h"
#include "codegen/runtime/gemm/Blocking.h"
#include "codegen/runtime/gemm/MicroKernel.h"
#include "codegen/runtime/gemm/Packing.h"
#include "codegen/runtime/gemm/Sgemm.h"
#include "tests/support/SplitMix64.h"

namespace tessera::codegen {
namespace {

using gemm::SgemmArgs;

#define REQUIRE_AVX2()                                                     \
  if (!gemm::hasAvx2Fma()) GTEST_SKIP() << "no AVX2 + FMA on this CPU"

// One problem with its operands, stored with leading dimensions `pad` wider than needed.
struct Problem {
  int64_t m, n, k;
  bool ta, tb;
  int64_t pad = 0;
  std::vector<float> a, b;
  int64_t lda() const { return (ta ? m : k) + pad; }
  int64_t ldb() const { return (tb ? k : n) + pad; }
  int64_t ldc() const { return n + pad; }
  // op(A)[i][p] and op(B)[p][j].
  float opA(int64_t i, int64_t p) const { return ta ? a[p * lda() + i] : a[i * lda() + p]; }
  float opB(int64_t p, int64_t j) const { return tb ? b[j * ldb() + p] : b[p * ldb() + j]; }

  Problem(int64_t m_, int64_t n_, int64_t k_, bool ta_, bool tb_, int64_t pad_ = 0)
      : m(m_), n(n_), k(k_), ta(ta_), tb(tb_), pad(pad_) {
    testing_support::SplitMix64 rng{static_cast<uint64_t>(m * 1000003 + n * 1009 + k * 7 + ta * 2 + tb)};
    a.resize(static_cast<size_t>((ta ? k : m) * lda()) + 1);
    b.resize(static_cast<size_t>((tb ? n : k) * ldb()) + 1);
    for (float& x : a) x = static_cast<float>(rng.uniform(-1, 1));
    for (float& x : b) x = static_cast<float>(rng.uniform(-1, 1));
  }

  SgemmArgs args(float* c) const {
    SgemmArgs g;
    g.transA = ta, g.transB = tb;
    g.m = m, g.n = n, g.k = k, g.lda = lda(), g.ldb = ldb(), g.ldc = ldc();
    g.a = a.data(), g.b = b.data(), g.c = c;
    return g;
  }

  // C with the gap columns (and a sentinel) set to -7, the rest to NaN: the GEMM must overwrite
  // every element of C (beta = 0) and nothing else.
  std::vector<float> freshC() const {
    std::vector<float> c(static_cast<size_t>(m * ldc()) + 1, -7.0f);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc() + j] = std::numeric_limits<float>::quiet_NaN();
    return c;
  }

  // Checks C against the reference summed in double; the bound is the classical float dot
  // product error, k ulps of sum |a_ip b_pj| (with margin for the blocked summation).
  void expectCorrect(const std::vector<float>& c) const {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double want = 0, mag = 0;
        for (int64_t p = 0; p < k; ++p) {
          double x = double(opA(i, p)) * double(opB(p, j));
          want += x;
          mag += std::fabs(x);
        }
        double got = c[i * ldc() + j];
        ASSERT_NEAR(got, want, (k + 2) * 1.2e-7 * mag + 1e-30)
            << "C(" << i << "," << j << ") of " << m << "x" << n << "x" << k << (ta ? " A^T" : "")
            << (tb ? " B^T" : "");
      }
      for (int64_t j = n; j < ldc(); ++j) ASSERT_EQ(c[i * ldc() + j], -7.0f) << "gap written";
    }
    ASSERT_EQ(c.back(), -7.0f) << "wrote past C";
  }
};

std::vector<float> run(const Problem& pr, ThreadPool* pool) {
  std::vector<float> c = pr.freshC();
  gemm::sgemm(pr.args(c.data()), pool);
  return c;
}

struct Shape {
  int64_t m, n, k;
};

// Odd sizes (ragged 6 x 16 tiles everywhere), k = 0, and every block boundary: m past MC = 144,
// k past KC = 256 (k = 300: two blocks of 150; k = 513: three), n past NC = 4096; m = 1024 (the
// GPT steps' token count: each of 2 threads gets 510 or 514 rows, in equal row blocks below MC).
const Shape kShapes[] = {{1, 1, 1},    {7, 13, 5},    {97, 131, 67}, {5, 3, 0},   {6, 16, 8},
                         {12, 32, 16}, {150, 40, 300}, {13, 17, 513}, {290, 33, 9}, {7, 4100, 3},
                         {1, 300, 20}, {300, 1, 20},   {1024, 21, 19}};

TEST(Sgemm, MatchesDoubleReferenceOnOddShapesAllFormsOneAndTwoThreads) {
  REQUIRE_AVX2();
  ThreadPool two(2);
  int checked = 0;
  for (const Shape& s : kShapes)
    for (int form = 0; form < 4; ++form) {
      Problem pr(s.m, s.n, s.k, form & 1, form & 2);
      std::vector<float> c1 = run(pr, nullptr), c2 = run(pr, &two);
      pr.expectCorrect(c1);
      pr.expectCorrect(c2);
      // The threads split C, never k: the 2-thread result is the 1-thread result, bit for bit.
      ASSERT_EQ(0, std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)))
          << s.m << "x" << s.n << "x" << s.k << " form " << form;
      ++checked;
    }
  EXPECT_EQ(checked, 52);
}

TEST(Sgemm, HonoursLeadingDimensionsWiderThanTheMatrices) {
  REQUIRE_AVX2();
  ThreadPool two(2);
  for (int form = 0; form < 4; ++form) {
    Problem pr(53, 37, 29, form & 1, form & 2, /*pad=*/5);
    pr.expectCorrect(run(pr, nullptr));
    pr.expectCorrect(run(pr, &two));
  }
}

TEST(Sgemm, ZeroDepthWritesZerosAndEmptyShapesWriteNothing) {
  REQUIRE_AVX2();
  Problem pr(9, 21, 0, false, true, 2);
  std::vector<float> c = run(pr, nullptr);
  for (int64_t i = 0; i < 9; ++i)
    for (int64_t j = 0; j < 21; ++j) ASSERT_EQ(c[i * pr.ldc() + j], 0.0f);
  pr.expectCorrect(c);
  for (Shape s : {Shape{0, 5, 5}, Shape{5, 0, 5}}) {
    std::vector<float> cc(64, -7.0f);
    Problem empty(s.m, s.n, s.k, false, false);
    gemm::sgemm(empty.args(cc.data()), nullptr);
    for (float x : cc) ASSERT_EQ(x, -7.0f);
  }
}

TEST(Sgemm, RepeatsBitwiseAndEqualsItsOwnSubProblems) {
  REQUIRE_AVX2();
  ThreadPool two(2);
  // Large enough that two threads split rows (and for the second, columns) of C.
  for (Shape s : {Shape{200, 72, 300}, Shape{10, 400, 70}}) {
    Problem pr(s.m, s.n, s.k, false, true);
    std::vector<float> first = run(pr, &two);
    for (int rep = 0; rep < 3; ++rep) {
      std::vector<float> again = run(pr, &two);
      ASSERT_EQ(0, std::memcmp(first.data(), again.data(), first.size() * sizeof(float)));
    }
    // Rows [3, 3 + 7) and columns [5, 5 + 20) computed as their own GEMM (a different tiling:
    // they now start a micro-tile) give the same bits: no element depends on where its tile is.
    SgemmArgs sub = pr.args(nullptr);
    std::vector<float> c(static_cast<size_t>(7 * pr.ldc()), 0.0f);
    sub.m = 7, sub.n = 20;
    sub.a = pr.a.data() + 3 * pr.lda();
    sub.b = pr.b.data() + 5 * pr.ldb();  // B^T: column j of op(B) is row j of B
    sub.c = c.data();
    gemm::sgemm(sub, nullptr);
    for (int64_t i = 0; i < 7; ++i)
      for (int64_t j = 0; j < 20; ++j)
        ASSERT_EQ(c[i * pr.ldc() + j], first[(i + 3) * pr.ldc() + j + 5]) << i << "," << j;
  }
}

// With at most kInPlaceAPanels micro-panels of columns the driver reads A (not transposed) in
// place instead of packing it (the attention GEMMs, n = 64); with one more it packs. Both must
// compute every element with the same multiply-adds in the same order: the first 64 columns of a
// 64-wide and an 80-wide product of the same A are the same bits, with ragged rows at the end of
// m and several k blocks, on 1 and 2 threads (the Aᵀ forms, packed both ways, too).
TEST(Sgemm, ReadingAInPlaceGivesTheBitsOfPackingIt) {
  REQUIRE_AVX2();
  ASSERT_EQ(gemm::kInPlaceAPanels * gemm::kNR, 64);
  ThreadPool two(2);
  for (int form = 0; form < 4; ++form) {
    bool ta = form & 1, tb = form & 2;
    Problem wide(259, 80, 600, ta, tb);  // 600 = 3 k blocks of 200; 259 = 43 x 6 + 1
    Problem narrow(259, 64, 600, ta, tb);
    narrow.a = wide.a;  // the same A (same leading dimension: lda does not depend on n)...
    for (int64_t p = 0; p < 600; ++p)  // ...and the first 64 columns of op(B)
      for (int64_t j = 0; j < 64; ++j)
        (tb ? narrow.b[j * narrow.ldb() + p] : narrow.b[p * narrow.ldb() + j]) = wide.opB(p, j);
    for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &two}) {
      std::vector<float> cw = run(wide, pool), cn = run(narrow, pool);
      narrow.expectCorrect(cn);
      for (int64_t i = 0; i < 259; ++i)
        for (int64_t j = 0; j < 64; ++j)
          ASSERT_EQ(cn[i * narrow.ldc() + j], cw[i * wide.ldc() + j])
              << "C(" << i << "," << j << ") form " << form << (pool ? " 2 threads" : "");
    }
  }
}

TEST(SgemmPacking, PanelsHoldOpAAndOpBInKernelOrderZeroPadded) {
  REQUIRE_AVX2();
  using gemm::kMR;
  using gemm::kNR;
  for (int form = 0; form < 4; ++form) {
    Problem pr(23, 37, 41, form & 1, form & 2);
    // Rows [4, 4 + 15) of op(A) at depth [3, 3 + 19): 3 panels, the last with 3 valid rows.
    int64_t i0 = 4, rows = 15, k0 = 3, kc = 19;
    std::vector<float> ap(3 * kc * kMR + gemm::kPackSlack, 99.0f);
    gemm::packA(pr.ta, pr.a.data(), pr.lda(), i0, rows, k0, kc, ap.data());
    for (int64_t p = 0; p < 3; ++p)
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t i = 0; i < kMR; ++i) {
          int64_t r = p * kMR + i;
          float want = r < rows ? pr.opA(i0 + r, k0 + k) : 0.0f;
          ASSERT_EQ(ap[(p * kc + k) * kMR + i], want) << "form " << form << " A panel " << p;
        }
    // Columns [5, 5 + 30) of op(B): panels 0 and 1 (the second with 14 valid columns); pack
    // only panel 1 and check panel 0 was left alone.
    int64_t j0 = 5, cols = 30;
    alignas(32) static float bp[2 * 19 * 16];
    std::fill(std::begin(bp), std::end(bp), 99.0f);
    gemm::packB(pr.tb, pr.b.data(), pr.ldb(), k0, kc, j0, cols, 1, 2, bp);
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t j = 0; j < kNR; ++j) {
        ASSERT_EQ(bp[k * kNR + j], 99.0f);
        float want = kNR + j < cols ? pr.opB(k0 + k, j0 + kNR + j) : 0.0f;
        ASSERT_EQ(bp[(kc + k) * kNR + j], want) << "form " << form << " B k " << k << " j " << j;
      }
  }
}

TEST(SgemmBlocking, DepthBlocksAreEqualAndAtMostKC) {
  EXPECT_EQ(gemm::kcFor(0), 0);
  EXPECT_EQ(gemm::kcFor(1), 1);
  EXPECT_EQ(gemm::kcFor(256), 256);
  EXPECT_EQ(gemm::kcFor(257), 129);   // 2 blocks: 129 + 128
  EXPECT_EQ(gemm::kcFor(300), 150);
  EXPECT_EQ(gemm::kcFor(768), 256);
  EXPECT_EQ(gemm::kcFor(3072), 256);
  EXPECT_EQ(gemm::kcFor(513), 171);  // 3 blocks: 171 + 171 + 171
}

// Through the engine's entry: batched problems on every split, both backends, against the
// reference; the Tessera backend repeats bitwise across 1 and 2 threads.
TEST(Sgemm, RunGemmBatchedEverySplitBothBackends) {
  REQUIRE_AVX2();
  setBlasSingleThreaded();
  struct Case {
    int64_t batch, m, n, k;
    bool ta, tb;
    GemmSplit split;
  };
  const Case cases[] = {{6, 40, 40, 40, false, true, GemmSplit::Batch},
                        {3, 97, 50, 67, true, false, GemmSplit::Rows},
                        {1, 8, 200, 200, false, false, GemmSplit::Cols},
                        {3, 9, 9, 9, true, true, GemmSplit::Serial}};
  ThreadPool one(1), two(2);
  for (const Case& cs : cases) {
    std::vector<Problem> items;
    for (int64_t i = 0; i < cs.batch; ++i) items.emplace_back(cs.m, cs.n, cs.k, cs.ta, cs.tb);
    // Distinct items: perturb each item's A so a mixed-up offset would show.
    for (int64_t i = 0; i < cs.batch; ++i)
      for (float& x : items[i].a) x += 0.25f * static_cast<float>(i);
    // One contiguous buffer per operand, items back to back.
    std::vector<float> a, b;
    std::vector<int64_t> offs[3];
    int64_t csize = cs.m * items[0].ldc();
    for (int64_t i = 0; i < cs.batch; ++i) {
      offs[0].push_back(static_cast<int64_t>(a.size()) * 4);
      offs[1].push_back(static_cast<int64_t>(b.size()) * 4);
      offs[2].push_back(i * csize * 4);
      a.insert(a.end(), items[i].a.begin(), items[i].a.end());
      b.insert(b.end(), items[i].b.begin(), items[i].b.end());
    }
    GemmProblem p;
    p.transA = cs.ta, p.transB = cs.tb;
    p.m = cs.m, p.n = cs.n, p.k = cs.k;
    p.lda = items[0].lda(), p.ldb = items[0].ldb(), p.ldc = items[0].ldc();
    p.a = reinterpret_cast<const char*>(a.data());
    p.b = reinterpret_cast<const char*>(b.data());
    p.batch = cs.batch;
    for (int o = 0; o < 3; ++o) p.offsets[o] = &offs[o];
    ASSERT_EQ(chooseGemmSplit(p, 2), cs.split);
    std::vector<float> results[3];
    int r = 0;
    for (auto [backend, pool] : {std::pair{GemmBackend::Tessera, &two},
                                 std::pair{GemmBackend::Tessera, &one},
                                 std::pair{GemmBackend::OpenBlas, &two}}) {
      std::vector<float> c(static_cast<size_t>(cs.batch * csize), std::nanf(""));
      p.c = reinterpret_cast<char*>(c.data());
      runGemm(p, *pool, backend);
      for (int64_t i = 0; i < cs.batch; ++i) {
        std::vector<float> ci(c.begin() + i * csize, c.begin() + (i + 1) * csize);
        ci.push_back(-7.0f);  // expectCorrect's end sentinel
        items[i].expectCorrect(ci);
      }
      results[r++] = std::move(c);
    }
    ASSERT_EQ(0, std::memcmp(results[0].data(), results[1].data(), results[0].size() * 4))
        << "Tessera backend: 2 threads differ from 1";
  }
}

// The packing buffers a thread keeps are counted while it lives and released when it ends.
// Hand count for 12 x 40 x 16 (one k block of 16): A block MC x 16 + 8 slack floats = 2312
// floats = 9248 bytes, rounded to 64: 9280; B: 3 panels x 16 columns x 16 deep = 768 floats =
// 3072 bytes. Run on a fresh thread so no buffer of an earlier test is reused.
TEST(Sgemm, PackingBuffersAreCountedWhileTheirThreadLives) {
  REQUIRE_AVX2();
  ASSERT_EQ(gemm::kMC, 144);  // the hand count above assumes it
  int64_t before = gemm::packingBytesHeld(), during = -1;
  std::thread t([&] {
    Problem pr(12, 40, 16, false, false);
    std::vector<float> c = run(pr, nullptr);
    pr.expectCorrect(c);
    during = gemm::packingBytesHeld();
  });
  t.join();
  EXPECT_EQ(during - before, 9280 + 3072);
  EXPECT_EQ(gemm::packingBytesHeld(), before);
}

TEST(Sgemm, DefaultBackendIsTheOwnSgemmWhereTheCpuRunsIt) {
  EXPECT_TRUE(gemmBackendAvailable(GemmBackend::OpenBlas));
  EXPECT_EQ(gemmBackendAvailable(GemmBackend::Tessera), gemm::hasAvx2Fma());
  const GemmBackend host = gemm::hasAvx2Fma() ? GemmBackend::Tessera : GemmBackend::OpenBlas;
  // What each TESSERA_GEMM value selects (an unknown one also prints a warning).
  EXPECT_EQ(gemmBackendFromSetting(nullptr), host);
  EXPECT_EQ(gemmBackendFromSetting(""), host);
  EXPECT_EQ(gemmBackendFromSetting("openblas"), GemmBackend::OpenBlas);
  EXPECT_EQ(gemmBackendFromSetting("tessera"), host);
  EXPECT_EQ(gemmBackendFromSetting("OpenBLAS-typo"), host);
  // The process's choice follows the environment (ctest leaves TESSERA_GEMM unset; the suite is
  // also run with TESSERA_GEMM=openblas exported).
  EXPECT_EQ(defaultGemmBackend(), gemmBackendFromSetting(std::getenv("TESSERA_GEMM")));
  // The override, and back.
  GemmBackend was = setDefaultGemmBackend(GemmBackend::OpenBlas);
  EXPECT_EQ(defaultGemmBackend(), GemmBackend::OpenBlas);
  setDefaultGemmBackend(GemmBackend::Tessera);
  EXPECT_EQ(defaultGemmBackend(), host);
  setDefaultGemmBackend(was);
  EXPECT_EQ(defaultGemmBackend(), gemmBackendFromSetting(std::getenv("TESSERA_GEMM")));
}

}  // namespace
}  // namespace tessera::codegen
