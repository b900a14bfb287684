// Kernel compiler benchmark: cold and warm (disk-cached) compile time of 100 distinct kernels, and
// the bandwidth of a compiled elementwise add and a row softmax next to memcpy of the same bytes,
// then the compute cost (ns per element, rows of 256 in cache) of exp, erf, gelu_erf, tanh and a
// softmax, all on one thread. Usage: kernel_bench [--kernels N] [--mb M]
//
// GEMM mode: kernel_bench --gemm SHAPE[,SHAPE...] [--threads T] [--reps R] [--stat min|median]
// times each GEMM shape (BATCHxMxNxK, optionally :AT / :BT for a transposed A / B, e.g.
// 32x128x128x64:BT) the way the engine runs it (codegen/runtime/GemmRunner.h: Tessera's sgemm,
// or single-threaded OpenBLAS, split over Tessera's pool of T threads) and with OpenBLAS's own T
// threads, and prints the median (--stat min: the fastest) of R interleaved runs of each and the
// better of the two, then each backend split over the pool and on one thread, with % of the FMA
// peak, one line per shape:
//   gemm 32x128x128x64:BT tessera 151.2 GFLOP/s blas 120.3 GFLOP/s best 151.2 GFLOP/s 0.0355 ms
//     split-openblas 140.1 (76.5%) cpu 150.2 (81.0%)  split-own ...  1t-openblas ...  1t-own ...
// Each column also in CPU time ("cpu": GFLOP/s per CPU-second of the threads, % of the FMA
// kernel's GFLOP/s per CPU-second): less disturbed than wall time by other processes, though not
// immune (they share the caches, and the host's clock drops under load).
// bench/gpt_bench.py uses the first part to bound a training step by its GEMMs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

// GCC 12's own avx512fintrin.h trips -Wuninitialized in _mm512_reduce_add_ps (GCC bug 105593;
// fma_peak turns the warning off for its whole target, see bench/CMakeLists.txt).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "bench/FmaKernel.h"
#pragma GCC diagnostic pop
#include "codegen/kernel/KernelCompiler.h"
#include "codegen/runtime/GemmRunner.h"
#include "codegen/runtime/ThreadPool.h"

using namespace tessera::codegen;
namespace fs = std::filesystem;

namespace {

double cpuNow() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

double threadCpuNow() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Builder {
  KernelDesc d;
  int push(Instr i) {
    d.body.push_back(i);
    return static_cast<int>(d.body.size()) - 1;
  }
  int load(int b) { Instr i; i.kind = InstrKind::Load; i.buffer = b; return push(i); }
  int cnst(double c) { Instr i; i.kind = InstrKind::Const; i.constant = c; return push(i); }
  int un(UnaryFn f, int a) { Instr i; i.kind = InstrKind::Unary; i.unary = f; i.args = {a}; return push(i); }
  int bin(BinaryFn f, int a, int b) {
    Instr i; i.kind = InstrKind::Binary; i.binary = f; i.args = {a, b}; return push(i);
  }
  int red(ReduceFn f, int a) { Instr i; i.kind = InstrKind::Reduce; i.reduce = f; i.args = {a}; return push(i); }
  void store(int b, int a) { Instr i; i.kind = InstrKind::Store; i.buffer = b; i.args = {a}; push(i); }
};

KernelDesc softmax() {
  Builder b;
  b.d.name = "softmax";
  b.d.inputs = {{ScalarType::F32, InnerAccess::Contiguous, "x"}};
  b.d.outputs = {{ScalarType::F32, InnerAccess::Contiguous, "y"}};
  int x = b.load(0);
  int e = b.un(UnaryFn::Exp, b.bin(BinaryFn::Sub, x, b.red(ReduceFn::Max, x)));
  b.store(1, b.bin(BinaryFn::Div, e, b.red(ReduceFn::Sum, e)));
  return b.d;
}

KernelDesc add() {
  Builder b;
  b.d.name = "add";
  b.d.outerRank = 0;
  b.d.inputs = {{ScalarType::F32, InnerAccess::Contiguous, "a"}, {ScalarType::F32, InnerAccess::Contiguous, "b"}};
  b.d.outputs = {{ScalarType::F32, InnerAccess::Contiguous, "y"}};
  b.store(2, b.bin(BinaryFn::Add, b.load(0), b.load(1)));
  return b.d;
}

// A mix like a transformer step's fused kernels: softmax-like, layer-norm-like and elementwise
// chains (bias + activation, optimizer updates), made distinct by constants and op choices.
KernelDesc variant(int k) {
  static const UnaryFn acts[] = {UnaryFn::GeluTanh, UnaryFn::GeluErf, UnaryFn::Relu, UnaryFn::Silu,
                                 UnaryFn::Tanh, UnaryFn::Sigmoid};
  Builder b;
  b.d.name = "variant_" + std::to_string(k);
  b.d.outerRank = 1 + k % 3;
  b.d.inputs = {{ScalarType::F32, InnerAccess::Contiguous, "x"}, {ScalarType::F32, InnerAccess::Contiguous, "w"}};
  b.d.outputs = {{ScalarType::F32, InnerAccess::Contiguous, "y"}, {ScalarType::F32, InnerAccess::Broadcast, "r"}};
  int x = b.load(0), w = b.load(1);
  int v = b.bin(BinaryFn::Add, x, b.bin(BinaryFn::Mul, w, b.cnst(1.0 + k)));
  if (k % 3 == 0) {  // softmax
    int e = b.un(UnaryFn::Exp, b.bin(BinaryFn::Sub, v, b.red(ReduceFn::Max, v)));
    int s = b.red(ReduceFn::Sum, e);
    b.store(2, b.bin(BinaryFn::Div, e, s));
    b.store(3, b.un(UnaryFn::Log, s));
  } else if (k % 3 == 1) {  // layer norm
    int inv = b.cnst(1.0 / (64 + k));
    int mean = b.bin(BinaryFn::Mul, b.red(ReduceFn::Sum, v), inv);
    int xc = b.bin(BinaryFn::Sub, v, mean);
    int var = b.bin(BinaryFn::Mul, b.red(ReduceFn::Sum, b.bin(BinaryFn::Mul, xc, xc)), inv);
    int rstd = b.un(UnaryFn::Rsqrt, b.bin(BinaryFn::Add, var, b.cnst(1e-5)));
    b.store(2, b.bin(BinaryFn::Mul, xc, rstd));
    b.store(3, rstd);
  } else {  // activation chain (+ a row max for the second output)
    int a = b.un(acts[(k / 3) % 6], v);
    a = b.bin(BinaryFn::Add, b.bin(BinaryFn::Mul, a, b.cnst(0.5 + k)), x);
    b.store(2, a);
    b.store(3, b.red(ReduceFn::Max, a));
  }
  return b.d;
}

constexpr long kPeakIterations = 5'000'000;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// --stat min: the fastest run instead of the median. On a machine shared with builds, a GEMM
// shorter than a time slice sometimes runs undisturbed, and the fastest of many runs is then the
// quiet machine's figure; the median is not.
bool gStatMin = false;
double stat(const std::vector<double>& v) {
  return gStatMin ? *std::min_element(v.begin(), v.end()) : median(v);
}

// One --gemm shape; false (with a message) when it does not parse. Every variant runs once per
// round, the rounds interleave them (a shared machine's load then hits all alike), and each
// figure is the median over the rounds:
//   tessera        runGemm as the engine runs it (defaultGemmBackend(), TESSERA_GEMM honoured)
//   blas           one OpenBLAS call with OpenBLAS's own T threads
//   split-openblas runGemm with OpenBLAS single-threaded in each of the pool's T threads
//   split-own      runGemm with Tessera's sgemm on the pool's T threads
//   1t-openblas / 1t-own   the same on one thread
// Percentages are of the FMA peak (bench/FmaKernel.h) of T threads (1 for the 1t columns).
bool gemmShape(const std::string& spec, int threads, int reps, double peak1, double peakT,
               double peakCpu1) {
  long long b = 0, m = 0, n = 0, k = 0;
  int used = 0;
  if (std::sscanf(spec.c_str(), "%lldx%lldx%lldx%lld%n", &b, &m, &n, &k, &used) != 4 || b <= 0 ||
      m <= 0 || n <= 0 || k <= 0) {
    std::fprintf(stderr, "kernel_bench: bad --gemm shape '%s' (want BATCHxMxNxK[:AT][:BT])\n",
                 spec.c_str());
    return false;
  }
  std::string rest = spec.substr(used);
  GemmProblem p;
  p.transA = rest.find(":AT") != std::string::npos;
  p.transB = rest.find(":BT") != std::string::npos;
  p.m = m, p.n = n, p.k = k, p.batch = b;
  p.lda = p.transA ? m : k;
  p.ldb = p.transB ? k : n;
  p.ldc = n;
  std::vector<float> A(b * m * k), B(b * k * n), C(b * m * n);
  for (size_t i = 0; i < A.size(); ++i) A[i] = static_cast<float>(std::sin(0.01 * i));
  for (size_t i = 0; i < B.size(); ++i) B[i] = static_cast<float>(std::cos(0.02 * i));
  std::vector<int64_t> offs[3];
  for (long long i = 0; i < b; ++i) {
    offs[0].push_back(i * m * k * 4);
    offs[1].push_back(i * k * n * 4);
    offs[2].push_back(i * m * n * 4);
  }
  p.a = reinterpret_cast<const char*>(A.data());
  p.b = reinterpret_cast<const char*>(B.data());
  p.c = reinterpret_cast<char*>(C.data());
  for (int o = 0; o < 3; ++o) p.offsets[o] = &offs[o];
  double flops = 2.0 * b * m * n * k;
  ThreadPool pool(threads), one(1);
  bool own = gemmBackendAvailable(GemmBackend::Tessera);
  struct Variant {
    const char* name;
    std::function<void()> run;
    std::vector<double> secs, cpu;
  };
  std::vector<Variant> vs;
  vs.push_back({"tessera", [&] { runGemm(p, pool); }, {}, {}});
  vs.push_back({"blas", [&] {
                  setBlasThreads(threads);
                  runGemm(p, one, GemmBackend::OpenBlas);
                  setBlasThreads(1);
                }, {}, {}});
  vs.push_back({"split-openblas", [&] { runGemm(p, pool, GemmBackend::OpenBlas); }, {}, {}});
  if (own) vs.push_back({"split-own", [&] { runGemm(p, pool, GemmBackend::Tessera); }, {}, {}});
  vs.push_back({"1t-openblas", [&] { runGemm(p, one, GemmBackend::OpenBlas); }, {}, {}});
  if (own) vs.push_back({"1t-own", [&] { runGemm(p, one, GemmBackend::Tessera); }, {}, {}});
  setBlasThreads(1);
  for (auto& v : vs) v.run();  // warm-up: page faults, packing buffers
  // CPU time next to wall time: on a shared machine wall time includes the time slices other
  // processes took, CPU time does not (it does include the pool's spinning, a real cost). The 1t
  // variants count the calling thread only (the other pool's idle worker may still be spinning).
  for (int r = 0; r < reps; ++r)
    for (auto& v : vs) {
      bool oneThread = std::strncmp(v.name, "1t-", 3) == 0;
      double s = now(), c = oneThread ? threadCpuNow() : cpuNow();
      v.run();
      v.secs.push_back(now() - s);
      v.cpu.push_back((oneThread ? threadCpuNow() : cpuNow()) - c);
    }
  auto gflops = [&](size_t i) { return flops / stat(vs[i].secs) / 1e9; };
  double best = std::max(gflops(0), gflops(1));
  std::printf("gemm %s tessera %.1f GFLOP/s blas %.1f GFLOP/s best %.1f GFLOP/s %.4f ms", spec.c_str(),
              gflops(0), gflops(1), best, flops / best / 1e9 * 1e3);
  for (size_t i = 2; i < vs.size(); ++i) {
    bool oneThread = std::strncmp(vs[i].name, "1t-", 3) == 0;
    double peak = oneThread ? peak1 : peakT;
    // GFLOP/s per CPU-second of each thread, as % of one core's peak in CPU time.
    double cpuGflops = flops / stat(vs[i].cpu) / 1e9 * (oneThread ? 1 : threads);
    double cpuPeak = peakCpu1 * (oneThread ? 1 : threads);
    std::printf("  %s %.1f (%.1f%%) cpu %.1f (%.1f%%)", vs[i].name, gflops(i),
                100.0 * gflops(i) / peak, cpuGflops, 100.0 * cpuGflops / cpuPeak);
  }
  std::printf("\n");
  std::fflush(stdout);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int numKernels = 100;
  int64_t mb = 64;
  int optLevel = 2;
  std::string gemms;
  int threads = 0, gemmReps = 20;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--kernels")) numKernels = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--mb")) mb = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--opt")) optLevel = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--gemm")) gemms = argv[++i];
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--reps")) gemmReps = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--stat")) gStatMin = !std::strcmp(argv[++i], "min");
  }
  if (!gemms.empty()) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    bool avx512 = tessera::bench::hasAvx512();
    double peak1 = tessera::bench::fmaGflopsMedian(1, avx512, 3);
    double peakT = tessera::bench::fmaGflopsMedian(threads, avx512, 3);
    // The peak per CPU-second (what the cpu columns are a share of): immune to other processes.
    std::vector<double> pc;
    for (int r = 0; r < 3; ++r) {
      double c0 = threadCpuNow();
      double f = avx512 ? tessera::bench::fmaAvx512(kPeakIterations)
                        : tessera::bench::fmaAvx2(kPeakIterations);
      pc.push_back(f / (threadCpuNow() - c0) / 1e9);
    }
    double peakCpu1 = gStatMin ? *std::max_element(pc.begin(), pc.end()) : median(pc);
    std::printf("fma peak: 1 thread %.1f GFLOP/s, %d threads %.1f GFLOP/s, per CPU-second %.1f; "
                "gemm backend %s; GFLOP/s are %s of %d interleaved runs (cpu: per CPU-second)\n",
                peak1, threads, peakT, peakCpu1,
                defaultGemmBackend() == GemmBackend::Tessera ? "tessera" : "openblas",
                gStatMin ? "the fastest" : "medians", gemmReps);
    for (size_t at = 0; at <= gemms.size();) {
      size_t end = gemms.find(',', at);
      if (end == std::string::npos) end = gemms.size();
      if (!gemmShape(gemms.substr(at, end - at), threads, gemmReps, peak1, peakT, peakCpu1))
        return 1;
      at = end + 1;
    }
    return 0;
  }
  std::string tmpl = (fs::temp_directory_path() / "tessera-kbench-XXXXXX").string();
  std::string dir = ::mkdtemp(tmpl.data());
  std::vector<KernelDesc> ks;
  for (int k = 0; k < numKernels; ++k) ks.push_back(variant(k));

  KernelCompilerOptions o;
  o.cacheDir = dir;
  o.optLevel = optLevel;
  double t0 = now(), c0 = cpuNow();
  auto cold = KernelCompiler::create(o);
  if (!cold.isOk()) { std::fprintf(stderr, "%s\n", cold.status().message().c_str()); return 1; }
  auto r = (*cold)->compile(ks);
  if (!r.isOk()) { std::fprintf(stderr, "%s\n", r.status().message().c_str()); return 1; }
  double coldS = now() - t0, coldCpu = cpuNow() - c0;
  double t1 = now(), c1 = cpuNow();
  auto warm = KernelCompiler::create(o);
  auto r2 = (*warm)->compile(ks);
  double warmS = now() - t1, warmCpu = cpuNow() - c1;
  if (!r2.isOk()) return 1;
  std::printf("target: %s\n", (*cold)->targetDescription().c_str());
  // CPU time next to wall time: these machines are shared, wall time includes waiting.
  std::printf("cold compile of %d kernels: %.3f s wall, %.3f s CPU (%d compiled)\n", numKernels,
              coldS, coldCpu, (*cold)->stats().compiled);
  std::printf("warm start (disk cache):    %.3f s wall, %.3f s CPU (%d disk hits, %d compiled)\n",
              warmS, warmCpu, (*warm)->stats().diskHits, (*warm)->stats().compiled);
  fs::remove_all(dir);

  auto fns = (*warm)->compile({add(), softmax()});
  if (!fns.isOk()) return 1;
  int64_t n = mb * (1 << 20) / 4;
  std::vector<float> a(n), b(n), y(n);
  for (int64_t i = 0; i < n; ++i) a[i] = std::sin(0.001 * i), b[i] = std::cos(0.002 * i);
  const int reps = 7;
  {  // elementwise add: reads 2n, writes n floats
    void* bufs[] = {a.data(), b.data(), y.data()};
    int64_t strides[] = {1, 1, 1};
    KernelArgs args{bufs, nullptr, n, strides};
    std::vector<double> ts, tm;
    for (int r = 0; r < reps; ++r) {
      double s = now();
      (*fns)[0](&args, 0, 1);
      ts.push_back(now() - s);
      s = now();
      std::memcpy(y.data(), a.data(), n * 4);
      tm.push_back(now() - s);
    }
    double gbAdd = 3.0 * n * 4 / median(ts) / 1e9, gbCopy = 2.0 * n * 4 / median(tm) / 1e9;
    std::printf("elementwise add  %6.2f GB/s   memcpy %6.2f GB/s   ratio %.2f\n", gbAdd, gbCopy,
                gbAdd / gbCopy);
  }
  {  // softmax over rows of 1024: reads n, writes n floats
    int64_t cols = 1024, rows = n / cols;
    void* bufs[] = {a.data(), y.data()};
    int64_t strides[] = {cols, 1, cols, 1};
    int64_t ext[] = {rows};
    KernelArgs args{bufs, ext, cols, strides};
    std::vector<double> ts, tm;
    for (int r = 0; r < reps; ++r) {
      double s = now();
      (*fns)[1](&args, 0, rows);
      ts.push_back(now() - s);
      s = now();
      std::memcpy(y.data(), a.data(), n * 4);
      tm.push_back(now() - s);
    }
    double gbSm = 2.0 * n * 4 / median(ts) / 1e9, gbCopy = 2.0 * n * 4 / median(tm) / 1e9;
    std::printf("softmax (x1024)  %6.2f GB/s   memcpy %6.2f GB/s   ratio %.2f\n", gbSm, gbCopy,
                gbSm / gbCopy);
  }
  {  // compute cost of single functions on cache-resident rows (ns per element, one thread)
    int64_t cols = 256, rows = 64;  // 64 KB in, 64 KB out: L2-resident
    std::vector<KernelDesc> ds;
    for (UnaryFn f : {UnaryFn::Exp, UnaryFn::Erf, UnaryFn::GeluErf, UnaryFn::Tanh}) {
      Builder u;
      u.d.name = std::string("math_") + unaryFnName(f);
      u.d.inputs = {{ScalarType::F32, InnerAccess::Contiguous, "x"}};
      u.d.outputs = {{ScalarType::F32, InnerAccess::Contiguous, "y"}};
      u.store(1, u.un(f, u.load(0)));
      ds.push_back(u.d);
    }
    ds.push_back(softmax());
    auto mf = (*warm)->compile(ds);
    if (!mf.isOk()) return 1;
    void* bufs[] = {a.data(), y.data()};
    int64_t strides[] = {cols, 1, cols, 1};
    int64_t ext[] = {rows};
    KernelArgs args{bufs, ext, cols, strides};
    for (size_t k = 0; k < ds.size(); ++k) {
      std::vector<double> ts;
      for (int r = 0; r < 50; ++r) {
        double s = now();
        for (int it = 0; it < 20; ++it) (*mf)[k](&args, 0, rows);
        ts.push_back((now() - s) / 20);
      }
      std::printf("%-14s %6.3f ns/element (rows of %lld, cache-resident, best of 50)\n",
                  ds[k].name.c_str(), *std::min_element(ts.begin(), ts.end()) / (rows * cols) * 1e9,
                  static_cast<long long>(cols));
    }
  }
  return 0;
}
