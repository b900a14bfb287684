// Calibration of the cost model's `cpu` device on this machine (partition/cost/DeviceSpec.cpp):
// the FP32 FMA peak of one core (AVX2 chains), OpenBLAS sgemm throughput over a sweep of shapes
// (square and the skinny shapes a transformer layer makes), and streaming memory bandwidth
// (a triad over arrays far larger than the caches). It fits the GEMM efficiency curve
// max * Π d/(d + halfDim) to the sgemm sweep (least squares on the relative error, grid search)
// and prints the figures as a cluster-file `device` line.
//
//   bench/cpu_calibrate [threads]      (default 1: the cost model's cpu device is one core)
//
// Keep OPENBLAS_CORETYPE as the environment sets it (ARCHITECTURE.md §7): the engine runs with it.
#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

__attribute__((target("avx2,fma"))) double fmaChains(long iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(0.0f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  float sink[8];
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  _mm256_storeu_ps(sink, s);
  if (sink[0] == 12345.f) std::puts("");
  return 12.0 * 8 * 2 * static_cast<double>(iters);
}

double fmaPeak(int threads) {
  const long iters = 20'000'000;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    auto t = Clock::now();
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) pool.emplace_back([&] { fmaChains(iters); });
    for (auto& th : pool) th.join();
    best = std::max(best, threads * 12.0 * 8 * 2 * static_cast<double>(iters) / since(t));
  }
  return best;
}

double sgemmRate(int m, int n, int k) {
  std::vector<float> a(static_cast<size_t>(m) * k, 0.5f), b(static_cast<size_t>(k) * n, 0.25f),
      c(static_cast<size_t>(m) * n, 0.0f);
  const double flops = 2.0 * m * n * k;
  int reps = std::max(1, static_cast<int>(2e9 / flops));
  double best = 0;
  for (int trial = 0; trial < 3; ++trial) {
    auto t = Clock::now();
    for (int r = 0; r < reps; ++r)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.data(), k, b.data(), n,
                  0.0f, c.data(), n);
    best = std::max(best, flops * reps / since(t));
  }
  return best;
}

double triadBandwidth() {
  const size_t n = 32u << 20;  // 3 arrays of 128 MiB
  std::vector<float> a(n, 1.0f), b(n, 2.0f), c(n, 0.0f);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    auto t = Clock::now();
    for (size_t i = 0; i < n; ++i) c[i] = a[i] + 1.5f * b[i];
    best = std::max(best, 3.0 * 4 * static_cast<double>(n) / since(t));
  }
  if (c[n / 2] == 12345.f) std::puts("");
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::max(1, std::atoi(argv[1])) : 1;
  openblas_set_num_threads(threads);
  const double peak = fmaPeak(threads);
  std::printf("fma_peak threads=%d gflops=%.1f\n", threads, peak / 1e9);
  struct Shape { int m, n, k; double rate; };
  std::vector<Shape> sweep;
  for (int d : {32, 64, 128, 256, 512, 1024, 2048}) sweep.push_back({d, d, d, 0});
  // Transformer-layer shapes: tokens x hidden by hidden x {hidden, 4 hidden}, and attention.
  for (int h : {128, 256, 512, 768})
    for (int t : {256, 1024, 4096}) {
      sweep.push_back({t, h, h, 0});
      sweep.push_back({t, 4 * h, h, 0});
      sweep.push_back({t, h, 4 * h, 0});
    }
  sweep.push_back({256, 256, 64, 0});
  sweep.push_back({1024, 1024, 64, 0});
  sweep.push_back({1024, 64, 1024, 0});
  for (Shape& s : sweep) {
    s.rate = sgemmRate(s.m, s.n, s.k);
    std::printf("sgemm m=%d n=%d k=%d gflops=%.1f (%.0f%% of fma peak)\n", s.m, s.n, s.k, s.rate / 1e9,
                100 * s.rate / peak);
  }
  // Fit max and halfDim: minimize the squared relative error of max * Π d/(d + h).
  double bestErr = INFINITY, bestMax = 0, bestHalf = 0;
  for (double half = 0; half <= 256; half += 1) {
    // For a fixed halfDim the best max is closed-form: Σ r_i f_i / Σ f_i^2 with r_i = rate/peak.
    double num = 0, den = 0;
    std::vector<double> f;
    for (const Shape& s : sweep) {
      double x = s.m / (s.m + half) * s.n / (s.n + half) * s.k / (s.k + half);
      double r = s.rate / peak;
      num += x / r;   // relative error: minimize Σ (max x / r - 1)^2
      den += x * x / (r * r);
      f.push_back(x);
    }
    double mx = std::min(1.0, num / den), err = 0;
    for (size_t i = 0; i < sweep.size(); ++i) err += std::pow(mx * f[i] / (sweep[i].rate / peak) - 1, 2);
    if (err < bestErr) bestErr = err, bestMax = mx, bestHalf = half;
  }
  double rms = std::sqrt(bestErr / static_cast<double>(sweep.size()));
  const double bw = triadBandwidth();
  std::printf("triad bandwidth threads=1 gbs=%.1f\n", bw / 1e9);
  std::printf("fit gemm_max=%.3f gemm_half_dim=%.0f (rms relative error %.1f%%)\n", bestMax, bestHalf, 100 * rms);
  std::printf("device cpu peak.f32=%.4gG vector=%.4gG bandwidth=%.3gGB/s gemm_max=%.3f gemm_half_dim=%.0f\n",
              peak / 1e9, peak / 1e9, bw / 1e9, bestMax, bestHalf);
  return 0;
}
