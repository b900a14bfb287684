// The library kernels and GEMMs split over the thread pool: large enough inputs that the split
// happens, checked against the interpreter and, for the library kernels, bitwise against the
// same engine on one thread (each output element is computed by one thread in one order).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "codegen/runtime/GemmRunner.h"
#include "tests/unit/engine/EngineTestUtil.h"

namespace tessera::codegen::testing {
namespace {

using ir::DType;

std::vector<ir::Tensor> runWithThreads(const std::string& text,
                                       const std::map<std::string, ir::Tensor>& inputs,
                                       int threads) {
  auto m = parse(text);
  EngineOptions o = evalOptions();
  o.threads = threads;
  auto e = Engine::compile(*m, "main", o);
  EXPECT_TRUE(e.isOk()) << e.status().message();
  if (!e.isOk()) return {};
  auto r = (*e)->run(inputs);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? *r : std::vector<ir::Tensor>{};
}

void expectBitwiseEqual(const std::vector<ir::Tensor>& a, const std::vector<ir::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape()) << "result " << i;
    for (int64_t j = 0; j < a[i].numElements(); ++j)
      ASSERT_EQ(a[i][j], b[i][j]) << "result " << i << " element " << j;
  }
}

// Sizes above the library kernels' parallel threshold (32768 elements of work).
const char* kLibraryModule = R"(module @m {
 sym B
 func @main(%table: f32[50,70], %idx: i64[B,200], %u: f32[B,200,70], %x: f32[B,64,203], %logits: f32[B,100,131], %t: i64[B,100]) -> (f32[B,200,70], f32[50,70], f32[203], f32[B,203], f32[], f32[B,100]) {
  %g = gather %table, %idx axis=0 : f32[B,200,70]
  %z = full value=0.5 : f32[50,70]
  %s = scatter_add %z, %idx, %u axis=0 : f32[50,70]
  %r = reduce_sum %x axes=[0,1] : f32[203]
  %mx = reduce_max %x axes=[1] : f32[B,203]
  %l = cross_entropy %logits, %t : f32[]
  %ln = cross_entropy %logits, %t reduction=none : f32[B,100]
  return %g, %s, %r, %mx, %l, %ln
 }
})";

std::map<std::string, ir::Tensor> libraryInputs(int64_t b) {
  return {{"table", randomTensor(DType::F32, {50, 70}, 21)},
          {"idx", randomTensor(DType::I64, {b, 200}, 22, 0, 50)},
          {"u", randomTensor(DType::F32, {b, 200, 70}, 23)},
          {"x", randomTensor(DType::F32, {b, 64, 203}, 24)},
          {"logits", randomTensor(DType::F32, {b, 100, 131}, 25, -6, 6)},
          {"t", randomTensor(DType::I64, {b, 100}, 26, 0, 131)}};
}

TEST(ParallelLibrary, MatchesTheInterpreter) {
  expectMatchesInterpreter(kLibraryModule, libraryInputs(3), 1e-6);
}

TEST(ParallelLibrary, TwoThreadsGiveTheBitsOfOne) {
  auto in = libraryInputs(3);
  expectBitwiseEqual(runWithThreads(kLibraryModule, in, 2), runWithThreads(kLibraryModule, in, 1));
}

TEST(ParallelLibrary, BadIndexInTheParallelPathIsTheReferenceError) {
  auto in = libraryInputs(2);
  ir::Tensor& idx = in.at("idx");
  std::vector<double> v(idx.numElements());
  for (int64_t i = 0; i < idx.numElements(); ++i) v[i] = idx[i];
  v[333] = 77;  // out of [0, 50), in the second thread's half
  idx = ir::Tensor(DType::I64, idx.shape(), std::move(v));
  auto m = parse(kLibraryModule);
  auto e = Engine::compile(*m, "main", evalOptions());
  ASSERT_TRUE(e.isOk());
  auto r = (*e)->run(in);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("index 77"), std::string::npos) << r.status().message();
}

// ---- ThreadPool ----

TEST(ThreadPool, EveryIndexOnceInFixedChunks) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 3, 7, 1000}) {
      std::vector<std::atomic<int>> hits(n);
      std::mutex mu;
      std::vector<std::pair<int64_t, int64_t>> ranges;
      pool.parallelFor(n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[i]++;
        std::lock_guard<std::mutex> lock(mu);
        ranges.emplace_back(b, e);
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
      // Chunk boundaries are n*c/chunks, whoever runs them.
      int64_t chunks = std::min<int64_t>(n, threads);
      std::sort(ranges.begin(), ranges.end());
      ASSERT_EQ(static_cast<int64_t>(ranges.size()), chunks);
      for (int64_t c = 0; c < chunks; ++c) {
        EXPECT_EQ(ranges[c].first, n * c / chunks);
        EXPECT_EQ(ranges[c].second, n * (c + 1) / chunks);
      }
    }
  }
}

TEST(ThreadPool, ManyShortRegionsAndWakingFromSleep) {
  ThreadPool pool(2);
  int64_t total = 0;
  for (int r = 0; r < 20000; ++r) {
    std::atomic<int64_t> sum{0};
    pool.parallelFor(4, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) sum += i + r;
    });
    total += sum;
    if (r % 5000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // worker sleeps
  }
  // Σ_r Σ_{i<4} (i + r) = 20000 * 6 + 4 * Σ_r r
  EXPECT_EQ(total, 20000LL * 6 + 4LL * (20000LL * 19999 / 2));
}

// ---- GemmRunner ----

struct GemmCase {
  int64_t batch, m, n, k;
  bool ta, tb;
  GemmSplit split;  // expected on 2 threads
};

// C = op(A)·op(B) in double by the definition, for each batch item.
std::vector<double> naiveGemm(const GemmCase& g, const std::vector<float>& a,
                              const std::vector<float>& b) {
  std::vector<double> c(g.batch * g.m * g.n, 0.0);
  for (int64_t p = 0; p < g.batch; ++p)
    for (int64_t i = 0; i < g.m; ++i)
      for (int64_t j = 0; j < g.n; ++j) {
        double s = 0;
        for (int64_t q = 0; q < g.k; ++q) {
          double x = g.ta ? a[p * g.m * g.k + q * g.m + i] : a[p * g.m * g.k + i * g.k + q];
          double y = g.tb ? b[p * g.k * g.n + j * g.k + q] : b[p * g.k * g.n + q * g.n + j];
          s += x * y;
        }
        c[(p * g.m + i) * g.n + j] = s;
      }
  return c;
}

TEST(GemmRunner, EverySplitComputesTheProduct) {
  setBlasSingleThreaded();
  const GemmCase cases[] = {
      {1, 100, 40, 70, false, false, GemmSplit::Rows},   // rows of C over the threads
      {1, 100, 40, 70, true, true, GemmSplit::Rows},
      {1, 8, 200, 200, false, true, GemmSplit::Cols},    // too few rows: columns
      {1, 8, 200, 200, true, false, GemmSplit::Cols},
      {6, 40, 40, 40, false, true, GemmSplit::Batch},    // whole batch items
      {3, 40, 41, 67, true, false, GemmSplit::Rows},     // 3 items on 2 threads: rows instead
      {3, 9, 9, 9, false, false, GemmSplit::Serial},     // too small to wake the pool
  };
  ThreadPool pool(2);
  for (const GemmCase& g : cases) {
    SCOPED_TRACE(::testing::Message() << g.batch << "x" << g.m << "x" << g.n << "x" << g.k
                                      << (g.ta ? " A^T" : "") << (g.tb ? " B^T" : ""));
    testing_support::SplitMix64 rng{static_cast<uint64_t>(g.m * 131 + g.n * 7 + g.k)};
    std::vector<float> a(g.batch * g.m * g.k), b(g.batch * g.k * g.n);
    for (float& x : a) x = static_cast<float>(rng.uniform(-1, 1));
    for (float& x : b) x = static_cast<float>(rng.uniform(-1, 1));
    // C with a row pitch wider than n: the runner must honour ldc and leave the gap alone.
    int64_t ldc = g.n + 3;
    std::vector<float> c(g.batch * g.m * ldc, -7.0f);
    std::vector<int64_t> offs[3];
    for (int64_t p = 0; p < g.batch; ++p) {
      offs[0].push_back(p * g.m * g.k * 4);
      offs[1].push_back(p * g.k * g.n * 4);
      offs[2].push_back(p * g.m * ldc * 4);
    }
    GemmProblem p;
    p.transA = g.ta;
    p.transB = g.tb;
    p.m = g.m, p.n = g.n, p.k = g.k;
    p.lda = g.ta ? g.m : g.k;
    p.ldb = g.tb ? g.k : g.n;
    p.ldc = ldc;
    p.a = reinterpret_cast<const char*>(a.data());
    p.b = reinterpret_cast<const char*>(b.data());
    p.c = reinterpret_cast<char*>(c.data());
    p.batch = g.batch;
    for (int o = 0; o < 3; ++o) p.offsets[o] = &offs[o];
    EXPECT_EQ(chooseGemmSplit(p, 2), g.split);
    EXPECT_EQ(chooseGemmSplit(p, 1), GemmSplit::Serial);
    runGemm(p, pool);
    std::vector<double> want = naiveGemm(g, a, b);
    for (int64_t q = 0; q < g.batch; ++q)
      for (int64_t i = 0; i < g.m; ++i) {
        for (int64_t j = 0; j < g.n; ++j) {
          double got = c[(q * g.m + i) * ldc + j], w = want[(q * g.m + i) * g.n + j];
          ASSERT_NEAR(got, w, 1e-4 * (1 + std::fabs(w))) << "item " << q << " C(" << i << "," << j << ")";
        }
        for (int64_t j = g.n; j < ldc; ++j) ASSERT_EQ(c[(q * g.m + i) * ldc + j], -7.0f);
      }
  }
}

}  // namespace
}  // namespace tessera::codegen::testing
