// The machine's FP32 peak, measured: independent chains of fused multiply-adds on the widest
// vectors the CPU has (AVX-512 where present, else AVX2), on 1 thread and on every core. The GPT
// benchmark reports Tessera's GFLOP/s as a percentage of this figure, measured in the same run.
//
// Prints one line per thread count: "fma_peak threads=N gflops=X" (median of 7 runs).
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

constexpr long kIterations = 20'000'000;

// 12 independent accumulators, fully unrolled so they stay in registers, hide the FMA latency
// (4 cycles) on two FMA pipes.
__attribute__((target("avx512f"))) double fmaAvx512() {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(0.0f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < kIterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  float sink = 0;
  for (int i = 0; i < 12; ++i) sink += _mm512_reduce_add_ps(acc[i]);
  if (sink == 12345.f) std::puts("");  // keep the result alive
  return 12.0 * 16 * 2 * kIterations;
}

__attribute__((target("avx2,fma"))) double fmaAvx2() {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(0.0f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < kIterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  float out[8] = {};
  for (int i = 0; i < 12; ++i) {
    float t[8];
    _mm256_storeu_ps(t, acc[i]);
    for (int k = 0; k < 8; ++k) out[k] += t[k];
  }
  if (out[0] == 12345.f) std::puts("");
  return 12.0 * 8 * 2 * kIterations;
}

double runOnce(int threads, bool avx512) {
  std::vector<std::thread> pool;
  std::vector<double> flops(threads);
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { flops[t] = avx512 ? fmaAvx512() : fmaAvx2(); });
  for (auto& th : pool) th.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double total = 0;
  for (double f : flops) total += f;
  return total / s / 1e9;
}

}  // namespace

int main() {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::printf("fma_peak isa=%s\n", avx512 ? "avx512" : "avx2");
  for (int threads : {1, cores}) {
    std::vector<double> runs;
    for (int r = 0; r < 7; ++r) runs.push_back(runOnce(threads, avx512));
    std::sort(runs.begin(), runs.end());
    std::printf("fma_peak threads=%d gflops=%.1f\n", threads, runs[runs.size() / 2]);
    if (threads == cores) break;
  }
  return 0;
}
