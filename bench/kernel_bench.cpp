// Kernel compiler benchmark: cold and warm (disk-cached) compile time of 100 distinct kernels, and
// the bandwidth of a compiled elementwise add and a row softmax next to memcpy of the same bytes,
// all on one thread. Usage: kernel_bench [--kernels N] [--mb M]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "codegen/kernel/KernelCompiler.h"

using namespace tessera::codegen;
namespace fs = std::filesystem;

namespace {

double cpuNow() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int numKernels = 100;
  int64_t mb = 64;
  int optLevel = 2;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--kernels")) numKernels = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--mb")) mb = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--opt")) optLevel = std::atoi(argv[++i]);
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
  return 0;
}
