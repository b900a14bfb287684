// Calibration of the cost model's `cpu` device on this machine: writes a cluster file
// (docs/cluster-format.md) that `tessera simulate --cluster FILE` and the planner read, with the
// raw measurements as comments above the figures fitted from them.
//
//   bench/cpu_calibrate [-o FILE] [--comm-bench PATH] [--mpirun PATH] [--quick]
//
// Measured, each figure the median of repeated runs (a shared host's noise moves single runs
// both ways, a median does not follow one outlier):
//   - the FP32 FMA peak at every thread count 1..cores (bench/FmaKernel.h, the kernel fma_peak
//     uses); the device figure is the per-core rate with every core busy, because Tessera's ranks
//     are single-threaded and run side by side, one per core;
//   - GEMMs through the engine's own entry (codegen runGemm on a 1-thread pool: Tessera's sgemm
//     on AVX2 + FMA hosts, OpenBLAS under TESSERA_GEMM=openblas — whichever the engine runs)
//     over a sweep of shapes (square, and the skinny shapes a transformer layer makes), fitted
//     to the cost model's curve max * Π d/(d + halfDim) (partition/cost/DeviceSpec.h; least
//     squares on the relative error, grid over halfDim); then, with that curve fixed,
//       * the transpose forms: the same layer shapes read as A^T and as B^T, against the plain
//         form (gemm_trans_a / gemm_trans_b: the median ratio), and
//       * batched GEMMs (gemm_batched, gemm_item): attention-sized batches whose items are
//         distinct operands, as in a training step (each item is one BLAS call packing fresh
//         operands), fitted per item as item + curve / batched;
//       * GEMMs on every core at once against one core alone: when they keep less of their rate
//         than the FMA chains do (shared caches, memory), gemm_max is scaled down by the ratio
//         (ranks run side by side; the device's peak is already the every-core-busy FMA rate);
//   - streaming bandwidth: a triad over arrays far larger than the caches, on every core at once
//     (per-core share, the same reason as the peak);
//   - with --comm-bench: the 2-rank f32 all-reduce times of bench/comm_bench (run under mpirun),
//     fitted to the ring model t = 2 alpha + S / B of a 2-rank all-reduce (CollectiveCost.h) —
//     the `shm` network level's latency and bandwidth — in two regimes when the sizes show a
//     cliff (a lower bandwidth from some message size on: `large=BYTES:BANDWIDTH`). Without it
//     the level keeps the defaults.
//
// The device is one core ("devices_per_node" = cores): a run of N ranks on this machine is a
// cluster of N devices; more ranks than cores time-share them (cost::timeShared).
// Keep OPENBLAS_CORETYPE as the environment sets it (ARCHITECTURE.md §7): the engine runs with it.
#include <cblas.h>
#include <unistd.h>

#include "codegen/runtime/GemmRunner.h"
#include "codegen/runtime/ThreadPool.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "FmaKernel.h"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int trials = 5;  // per measurement; --quick: 3

// FLOP/s of `batch` items of an f32 m x k by k x n product (op(A) = A^T when ta, op(B) = B^T
// when tb) through the engine's GEMM entry on one thread. Items are distinct operands laid out
// one after another, as the engine's batched attention GEMMs read them.
double gemmRate(int64_t batch, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  tessera::codegen::ThreadPool pool(1);  // the caller alone, as in a single-threaded rank
  tessera::codegen::setBlasSingleThreaded();
  const size_t ea = static_cast<size_t>(m * k), eb = static_cast<size_t>(k * n),
               ec = static_cast<size_t>(m * n), nb = static_cast<size_t>(batch);
  std::vector<float> a(ea * nb, 0.5f), b(eb * nb, 0.25f), c(ec * nb, 0.0f);
  std::vector<int64_t> oa, ob, oc;
  for (int64_t i = 0; i < batch; ++i)
    oa.push_back(i * m * k * 4), ob.push_back(i * k * n * 4), oc.push_back(i * m * n * 4);
  tessera::codegen::GemmProblem p;
  p.transA = ta, p.transB = tb;
  p.m = m, p.n = n, p.k = k;
  p.lda = ta ? m : k, p.ldb = tb ? k : n, p.ldc = n;
  p.a = reinterpret_cast<const char*>(a.data());
  p.b = reinterpret_cast<const char*>(b.data());
  p.c = reinterpret_cast<char*>(c.data());
  if (batch > 1) p.offsets[0] = &oa, p.offsets[1] = &ob, p.offsets[2] = &oc;
  p.batch = batch;
  const double flops = 2.0 * static_cast<double>(batch * m * n * k);
  const int reps = std::max(1, static_cast<int>(1e9 / flops));
  tessera::codegen::runGemm(p, pool);  // warm the caches and the GEMM's buffers
  std::vector<double> rates;
  for (int t = 0; t < trials; ++t) {
    auto t0 = Clock::now();
    for (int r = 0; r < reps; ++r) tessera::codegen::runGemm(p, pool);
    rates.push_back(flops * reps / since(t0));
  }
  return median(rates);
}

double sgemmRate(int m, int n, int k) { return gemmRate(1, m, n, k, false, false); }

// Per-thread FLOP/s of the same GEMM on `threads` threads at once (each its own operands), as
// that many single-threaded ranks run side by side.
double gemmRateConcurrent(int threads, int64_t batch, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  std::vector<double> r(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { r[static_cast<size_t>(t)] = gemmRate(batch, m, n, k, ta, tb); });
  for (auto& th : pool) th.join();
  return median(r);
}

// Bytes/s per thread of a triad c = a + 1.5 b with `threads` threads on their own arrays at once.
double triadBandwidth(int threads) {
  const size_t n = 16u << 20;  // 3 arrays of 64 MiB per thread
  std::vector<std::vector<float>> a(static_cast<size_t>(threads), std::vector<float>(n, 1.0f)),
      b(static_cast<size_t>(threads), std::vector<float>(n, 2.0f)),
      c(static_cast<size_t>(threads), std::vector<float>(n, 0.0f));
  std::vector<double> rates;
  for (int rep = 0; rep < trials; ++rep) {
    std::vector<std::thread> pool;
    auto t0 = Clock::now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        float* cc = c[static_cast<size_t>(t)].data();
        const float* aa = a[static_cast<size_t>(t)].data();
        const float* bb = b[static_cast<size_t>(t)].data();
        for (size_t i = 0; i < n; ++i) cc[i] = aa[i] + 1.5f * bb[i];
      });
    for (auto& th : pool) th.join();
    rates.push_back(3.0 * 4 * static_cast<double>(n) / since(t0));
  }
  if (c[0][n / 2] == 12345.f) std::puts("");
  return median(rates);
}

double memTotalBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  while (in >> key >> kb) {
    if (key == "MemTotal:") return kb * 1024;
    in.ignore(1 << 20, '\n');
  }
  return 16e9;
}

struct CommFit {
  bool ok = false;
  double latency = 0, bandwidth = 0;
  double largeBytes = 0, largeBandwidth = 0;  // 0: one regime fits
  std::vector<std::string> lines;
};

// Weighted (1/t^2: relative error) least squares t = c0 + c1 S over points [from, to).
bool fitLine(const std::vector<double>& xs, const std::vector<double>& ys, size_t from, size_t to,
             double& c0, double& c1) {
  double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = from; i < to; ++i) {
    const double w = 1 / (ys[i] * ys[i]);
    sw += w, sx += w * xs[i], sy += w * ys[i], sxx += w * xs[i] * xs[i], sxy += w * xs[i] * ys[i];
  }
  const double det = sw * sxx - sx * sx;
  if (det <= 0) return false;
  c1 = (sw * sxy - sx * sy) / det, c0 = (sy - c1 * sx) / sw;
  return c1 > 0;
}

// Sum of squared relative errors of t = c0 + S / bw over [from, to).
double relErr(const std::vector<double>& xs, const std::vector<double>& ys, size_t from, size_t to,
              double c0, double bw) {
  double e = 0;
  for (size_t i = from; i < to; ++i) e += std::pow((c0 + xs[i] / bw) / ys[i] - 1, 2);
  return e;
}

// Runs comm_bench on 2 ranks and fits its Tessera all-reduce column (median microseconds).
CommFit commFit(const std::string& commBench, const std::string& mpirun) {
  CommFit f;
  if (::geteuid() == 0) {
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  }
  const std::string cmd = mpirun + " -np 2 --oversubscribe " + commBench + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return f;
  std::vector<double> xs, ys;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) {
    double bytes = 0, reps = 0, mpi = 0, mpinb = 0, tess = 0;
    if (std::sscanf(buf, "%lf %lf %lf %lf %lf", &bytes, &reps, &mpi, &mpinb, &tess) == 5 && bytes > 0) {
      xs.push_back(bytes);
      ys.push_back(tess * 1e-6);
      std::string l(buf);
      while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
      f.lines.push_back(l);
    }
  }
  const int rc = ::pclose(p);
  if (rc != 0 || xs.size() < 3) return f;
  // Least squares t = c0 + c1 S, weighted by 1/t so that small and large messages count alike.
  double c0 = 0, c1 = 0;
  if (!fitLine(xs, ys, 0, xs.size(), c0, c1)) return f;
  f.ok = true;
  f.bandwidth = 1 / c1;                    // a 2-rank ring all-reduce moves S per rank
  f.latency = std::max(0.0, c0 / 2);       // in 2 steps
  // Two regimes: the shared-memory link has a cliff (ClusterSpec.h NetworkLevel::largeBytes).
  // Split the sizes where a line below and a bandwidth above (same latency) fit best; keep the
  // split only when it at least halves the single line's error.
  const size_t n = xs.size();
  const double one = relErr(xs, ys, 0, n, c0, 1 / c1);
  double bestErr = one;
  for (size_t split = 3; split + 2 <= n; ++split) {
    double s0 = 0, s1 = 0;
    if (!fitLine(xs, ys, 0, split, s0, s1)) continue;
    // Above: t - s0 = S / B, least squares in relative error: B = Σ (S/t)^2 / Σ S (t - s0) / t^2.
    double num = 0, den = 0;
    for (size_t i = split; i < n; ++i)
      num += xs[i] * xs[i] / (ys[i] * ys[i]), den += xs[i] * (ys[i] - s0) / (ys[i] * ys[i]);
    if (!(den > 0)) continue;
    const double bigBw = num / den;
    const double err = relErr(xs, ys, 0, split, s0, 1 / s1) + relErr(xs, ys, split, n, s0, bigBw);
    if (err < bestErr && err < 0.5 * one) {
      bestErr = err;
      f.bandwidth = 1 / s1;
      f.latency = std::max(0.0, s0 / 2);
      f.largeBytes = std::sqrt(xs[split - 1] * xs[split]);  // between the two measured sizes
      f.largeBandwidth = bigBw;
    }
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = "cpu.cluster", commBench, mpirun = "mpirun";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "cpu_calibrate: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "-o") out = value();
    else if (a == "--comm-bench") commBench = value();
    else if (a == "--mpirun") mpirun = value();
    else if (a == "--quick") trials = 3;
    else {
      std::fprintf(stderr, "usage: cpu_calibrate [-o FILE] [--comm-bench PATH] [--mpirun PATH] [--quick]\n");
      return 2;
    }
  }
  openblas_set_num_threads(1);
  std::printf("gemm backend: %s (TESSERA_GEMM)\n",
              tessera::codegen::defaultGemmBackend() == tessera::codegen::GemmBackend::Tessera
                  ? "tessera" : "openblas");
  const bool avx512 = tessera::bench::hasAvx512();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::ostringstream notes;
  char line[256];
  auto note = [&](const char* s) {
    std::printf("%s\n", s);
    notes << "# " << s << "\n";
  };

  std::vector<double> peak(static_cast<size_t>(cores) + 1);
  for (int t = 1; t <= cores; ++t) {
    peak[static_cast<size_t>(t)] = tessera::bench::fmaGflopsMedian(t, avx512, trials + 2) * 1e9;
    std::snprintf(line, sizeof line, "fma_peak isa=%s threads=%d gflops=%.1f (%.1f per thread)",
                  avx512 ? "avx512" : "avx2", t, peak[static_cast<size_t>(t)] / 1e9,
                  peak[static_cast<size_t>(t)] / 1e9 / t);
    note(line);
  }
  const double peak1 = peak[1], perCore = peak[static_cast<size_t>(cores)] / cores;

  struct Shape { int m, n, k; double rate; };
  std::vector<Shape> sweep;
  for (int d : {32, 64, 128, 256, 512, 1024}) sweep.push_back({d, d, d, 0});
  // Transformer-layer shapes: tokens x hidden by hidden x {hidden, 4 hidden}, and attention.
  for (int h : {128, 256, 768})
    for (int t : {256, 1024}) {
      sweep.push_back({t, h, h, 0});
      sweep.push_back({t, 4 * h, h, 0});
      sweep.push_back({t, h, 4 * h, 0});
    }
  sweep.push_back({128, 128, 64, 0});
  sweep.push_back({256, 256, 64, 0});
  sweep.push_back({256, 64, 256, 0});
  for (Shape& s : sweep) {
    s.rate = sgemmRate(s.m, s.n, s.k);
    std::snprintf(line, sizeof line, "sgemm threads=1 m=%d n=%d k=%d gflops=%.1f (%.0f%% of the 1-thread fma peak)",
                  s.m, s.n, s.k, s.rate / 1e9, 100 * s.rate / peak1);
    note(line);
  }
  // Fit max and halfDim: minimize the squared relative error of max * Π d/(d + h) against
  // rate / peak1. For a fixed halfDim the best max is closed-form.
  double bestErr = INFINITY, bestMax = 0, bestHalf = 0;
  for (double half = 0; half <= 256; half += 1) {
    double num = 0, den = 0;
    std::vector<double> f;
    for (const Shape& s : sweep) {
      const double x = s.m / (s.m + half) * s.n / (s.n + half) * s.k / (s.k + half);
      const double r = s.rate / peak1;
      num += x / r;  // relative error: minimize Σ (max x / r - 1)^2
      den += x * x / (r * r);
      f.push_back(x);
    }
    const double mx = std::min(1.0, num / den);
    double err = 0;
    for (size_t i = 0; i < sweep.size(); ++i) err += std::pow(mx * f[i] / (sweep[i].rate / peak1) - 1, 2);
    if (err < bestErr) bestErr = err, bestMax = mx, bestHalf = half;
  }
  const double rms = std::sqrt(bestErr / static_cast<double>(sweep.size()));
  std::snprintf(line, sizeof line, "fit gemm_max=%.3f gemm_half_dim=%.0f (rms relative error %.1f%%)",
                bestMax, bestHalf, 100 * rms);
  note(line);
  auto curve = [&](double m, double n, double k) {
    return bestMax * m / (m + bestHalf) * n / (n + bestHalf) * k / (k + bestHalf);
  };

  // Transpose forms: a transformer layer's backward reads X^T (weight gradients) and W^T (input
  // gradients); the engine folds these into the call, so the BLAS packs the transposed operand.
  std::vector<double> ratioA, ratioB;
  for (auto [m, n, k] : {std::array<int, 3>{512, 1024, 256}, {256, 1024, 512}, {512, 256, 1024},
                         {1024, 256, 512}}) {
    const double nn = gemmRate(1, m, n, k, false, false), tn = gemmRate(1, m, n, k, true, false),
                 nt = gemmRate(1, m, n, k, false, true);
    ratioA.push_back(tn / nn);
    ratioB.push_back(nt / nn);
    std::snprintf(line, sizeof line, "gemm threads=1 m=%d n=%d k=%d gflops=%.1f (A^T %.1f, B^T %.1f)",
                  m, n, k, nn / 1e9, tn / 1e9, nt / 1e9);
    note(line);
  }
  const double transA = std::clamp(median(ratioA), 0.05, 2.0), transB = std::clamp(median(ratioB), 0.05, 2.0);
  std::snprintf(line, sizeof line, "fit gemm_trans_a=%.3f gemm_trans_b=%.3f (median ratio to the plain form)",
                transA, transB);
  note(line);

  // Batched GEMMs: attention's per-head products, items in turn (one BLAS call each, fresh
  // operands). Per item, measured = item + curve / batched: a fixed time and a rate factor,
  // fitted by least squares in relative error (fitLine) over the batched shapes.
  struct Batched { int64_t batch, m, n, k; bool ta, tb; };
  std::vector<double> curveItem, measuredItem;
  for (const Batched& q : {Batched{16, 128, 128, 64, false, true}, {16, 128, 64, 128, false, false},
                           {16, 128, 64, 128, true, false}, {48, 128, 128, 64, false, true},
                           {48, 128, 64, 128, false, false}, {24, 256, 256, 64, false, true},
                           {24, 256, 64, 256, false, false}, {24, 256, 64, 256, true, false}}) {
    const double rate = gemmRate(q.batch, q.m, q.n, q.k, q.ta, q.tb);
    const double itemFlops = 2.0 * static_cast<double>(q.m * q.n * q.k);
    const double eff = curve(static_cast<double>(q.m), static_cast<double>(q.n), static_cast<double>(q.k)) *
                       (q.ta ? transA : 1.0) * (q.tb ? transB : 1.0);
    curveItem.push_back(itemFlops / (peak1 * eff));
    measuredItem.push_back(itemFlops / rate);
    std::snprintf(line, sizeof line,
                  "gemm threads=1 batch=%lld m=%lld n=%lld k=%lld%s%s gflops=%.1f (%.2fx the curve's; %.2f us per item, curve %.2f us)",
                  static_cast<long long>(q.batch), static_cast<long long>(q.m),
                  static_cast<long long>(q.n), static_cast<long long>(q.k), q.ta ? " A^T" : "",
                  q.tb ? " B^T" : "", rate / 1e9, rate / (peak1 * eff), measuredItem.back() * 1e6,
                  curveItem.back() * 1e6);
    note(line);
  }
  double itemSeconds = 0, slope = 1;
  if (!fitLine(curveItem, measuredItem, 0, curveItem.size(), itemSeconds, slope) || itemSeconds < 0) {
    // No positive fixed part: the rate factor alone (relative least squares through 0).
    double num = 0, den = 0;
    for (size_t i = 0; i < curveItem.size(); ++i) {
      const double w = 1 / (measuredItem[i] * measuredItem[i]);
      num += w * curveItem[i] * measuredItem[i], den += w * curveItem[i] * curveItem[i];
    }
    itemSeconds = 0, slope = num / den;
  }
  // Batched items faster than the hot single GEMM the curve was fitted on would be noise: then
  // the fixed time alone (relative least squares of measured - curve), at least 0.
  if (slope < 1) {
    double num = 0, den = 0;
    for (size_t i = 0; i < curveItem.size(); ++i) {
      const double w = 1 / (measuredItem[i] * measuredItem[i]);
      num += w * (measuredItem[i] - curveItem[i]), den += w;
    }
    slope = 1, itemSeconds = std::max(0.0, num / den);
  }
  const double batched = std::clamp(1 / slope, 0.05, 1.0);
  std::snprintf(line, sizeof line, "fit gemm_batched=%.3f gemm_item=%.3gus (per item: item + curve / batched)",
                batched, itemSeconds * 1e6);
  note(line);

  // Ranks side by side: the device's peak is the per-core FMA rate with every core busy, and
  // gemm_max (a fraction of the 1-thread peak) rides on it. When GEMMs lose more than FMA chains
  // do with every core busy (shared caches and memory), gemm_max is scaled by the difference.
  std::vector<double> sideBySide;
  for (const Batched& q : {Batched{1, 512, 1024, 256, false, false}, {1, 1024, 256, 512, true, false},
                           {16, 128, 128, 64, false, true}}) {
    const double alone = gemmRate(q.batch, q.m, q.n, q.k, q.ta, q.tb);
    const double busy = gemmRateConcurrent(cores, q.batch, q.m, q.n, q.k, q.ta, q.tb);
    sideBySide.push_back(busy / alone);
    std::snprintf(line, sizeof line, "gemm batch=%lld m=%lld n=%lld k=%lld: %.1f GFLOP/s alone, %.1f per thread on %d threads",
                  static_cast<long long>(q.batch), static_cast<long long>(q.m),
                  static_cast<long long>(q.n), static_cast<long long>(q.k), alone / 1e9, busy / 1e9, cores);
    note(line);
  }
  const double gemmBusy = median(sideBySide), fmaBusy = perCore / peak1;
  // The model's GEMM rate is gemm_max x the device peak; it must come out as the rate GEMMs were
  // measured at side by side (bestMax x peak1 x gemmBusy). When the every-core FMA figure is so
  // low that gemm_max would have to exceed 1 — a transient on the shared host during the FMA run
  // (seen 2026-11-26 12:41: FMA chains kept 0.507 of their rate while GEMMs kept 0.983, and a
  // capped gemm_max made every CPU prediction ~35% slow) — the device peak is raised to the GEMM
  // rate instead, so GEMMs keep their measured rate either way.
  const double gemmBusyRate = bestMax * peak1 * gemmBusy;
  const double devicePeak = std::max(perCore, gemmBusyRate);
  const double gemmMax = gemmBusyRate / devicePeak;
  std::snprintf(line, sizeof line,
                "every core busy: GEMMs keep %.3f of their rate, FMA chains %.3f: gemm_max %.3f -> %.3f",
                gemmBusy, fmaBusy, bestMax, gemmMax);
  note(line);
  if (devicePeak > perCore) {
    std::snprintf(line, sizeof line,
                  "the every-core FMA rate (%.1f GFLOP/s per core) is below the GEMMs' measured side by "
                  "side (%.1f): device peak raised to %.1f",
                  perCore / 1e9, gemmBusyRate / 1e9, devicePeak / 1e9);
    note(line);
  }

  const double bw1 = triadBandwidth(1), bwAll = triadBandwidth(cores);
  std::snprintf(line, sizeof line, "triad threads=1 gbs=%.2f; threads=%d gbs=%.2f per thread", bw1 / 1e9,
                cores, bwAll / 1e9);
  note(line);

  CommFit comm;
  if (!commBench.empty()) {
    comm = commFit(commBench, mpirun);
    for (const std::string& l : comm.lines) note(("comm_bench " + l).c_str());
    if (comm.ok) {
      std::snprintf(line, sizeof line, "fit 2-rank all_reduce: latency %.2f us per step, bandwidth %.3f GB/s",
                    comm.latency * 1e6, comm.bandwidth / 1e9);
      if (comm.largeBytes > 0) {
        note(line);
        std::snprintf(line, sizeof line, "fit messages from %.3g MB on: bandwidth %.3f GB/s",
                      comm.largeBytes / 1e6, comm.largeBandwidth / 1e9);
      }
    } else {
      std::snprintf(line, sizeof line, "comm_bench under %s gave no usable table: the shm level keeps its defaults",
                    mpirun.c_str());
    }
    note(line);
  }

  const double memPerCore = memTotalBytes() / cores;
  std::ofstream f(out);
  if (!f) {
    std::fprintf(stderr, "cpu_calibrate: cannot write %s\n", out.c_str());
    return 1;
  }
  const std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  f << "# This machine, calibrated by bench/cpu_calibrate on " << when << ".\n"
    << "# One device per core: Tessera's ranks are single-threaded; a run of N ranks on this\n"
    << "# machine is `nodes 1, devices_per_node N` (more ranks than cores time-share them).\n"
    << "# Raw measurements (medians of " << trials << "+ runs):\n"
    << notes.str();
  char dev[640];
  // bf16/f16 have no native GEMM on this CPU: the f32 rate; f64 half of it (half the lanes).
  std::snprintf(dev, sizeof dev,
                "device cpu peak.f32=%.4gG peak.bf16=%.4gG peak.f16=%.4gG "
                "peak.f64=%.4gG peak.i32=%.4gG peak.i64=%.4gG vector=%.4gG memory=%.4gGB "
                "bandwidth=%.4gGB/s memory_efficiency=1 gemm_max=%.3f gemm_half_dim=%.0f "
                "gemm_trans_a=%.3f gemm_trans_b=%.3f gemm_batched=%.3f gemm_item=%.4gus",
                devicePeak / 1e9, devicePeak / 1e9, devicePeak / 1e9, devicePeak / 2e9, devicePeak / 1e9,
                devicePeak / 1e9, devicePeak / 1e9, memPerCore / 1e9, bwAll / 1e9,
                gemmMax, bestHalf, transA, transB, batched, itemSeconds * 1e6);
  // The device keeps the name `cpu`: the planner and the default network key on it (fp32 training,
  // shared-memory links); the cluster's name says it is calibrated. gemm_max is the fraction of
  // the 1-thread peak; it applies to the loaded per-core peak above, so a GEMM slows with the
  // peak when every core is busy.
  f << "name cpu-calibrated\n" << dev << "\nnodes 1\ndevices_per_node " << cores << "\n";
  if (comm.ok) {
    char lv[160];
    if (comm.largeBytes > 0)
      std::snprintf(lv, sizeof lv, "level shm bandwidth=%.4gGB/s latency=%.3gus large=%.4gMB:%.4gGB/s\n",
                    comm.bandwidth / 1e9, comm.latency * 1e6, comm.largeBytes / 1e6,
                    comm.largeBandwidth / 1e9);
    else
      std::snprintf(lv, sizeof lv, "level shm bandwidth=%.4gGB/s latency=%.3gus\n", comm.bandwidth / 1e9,
                    comm.latency * 1e6);
    f << lv;
  }
  f.close();
  std::printf("wrote %s\n", out.c_str());
  return 0;
}
