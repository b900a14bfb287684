// The FP32 FMA peak kernel shared by bench/fma_peak (the GPT benchmark's peak figure) and
// bench/cpu_calibrate (the cost model's `cpu` device): independent chains of fused multiply-adds
// on the widest vectors the CPU has (AVX-512 where present, else AVX2), on N threads at once.
//
// Why 12 chains: the FMA latency is 4 cycles on two pipes, so 8 independent accumulators keep
// both pipes busy; 12 leaves margin and still fits the 16 vector registers of AVX2.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace tessera::bench {

inline constexpr long kFmaIterations = 20'000'000;

// FLOPs done by one call: 12 chains x lanes x 2 (multiply + add) per iteration.
__attribute__((target("avx512f"))) inline double fmaAvx512(long iterations = kFmaIterations) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(0.0f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  float sink = 0;
  for (int i = 0; i < 12; ++i) sink += _mm512_reduce_add_ps(acc[i]);
  if (sink == 12345.f) std::puts("");  // keep the result alive
  return 12.0 * 16 * 2 * static_cast<double>(iterations);
}

__attribute__((target("avx2,fma"))) inline double fmaAvx2(long iterations = kFmaIterations) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(0.0f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iterations; ++it) {
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
  return 12.0 * 8 * 2 * static_cast<double>(iterations);
}

inline bool hasAvx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

// GFLOP/s of `threads` threads each running the kernel once, together.
inline double fmaGflopsOnce(int threads, bool avx512) {
  std::vector<std::thread> pool;
  std::vector<double> flops(static_cast<size_t>(threads));
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { flops[static_cast<size_t>(t)] = avx512 ? fmaAvx512() : fmaAvx2(); });
  for (auto& th : pool) th.join();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double total = 0;
  for (double f : flops) total += f;
  return total / s / 1e9;
}

// The median of `runs` runs: a shared host's noise moves single runs both ways.
inline double fmaGflopsMedian(int threads, bool avx512, int runs = 7) {
  std::vector<double> v;
  for (int r = 0; r < runs; ++r) v.push_back(fmaGflopsOnce(threads, avx512));
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace tessera::bench
