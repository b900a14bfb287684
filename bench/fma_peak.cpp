// The machine's FP32 peak, measured: independent chains of fused multiply-adds on the widest
// vectors the CPU has (AVX-512 where present, else AVX2), on 1 thread and on every core. The GPT
// benchmark reports Tessera's GFLOP/s as a percentage of this figure, measured in the same run.
// The kernel is bench/FmaKernel.h, shared with bench/cpu_calibrate.
//
// Prints one line per thread count: "fma_peak threads=N gflops=X" (median of 7 runs).
#include <cstdio>
#include <thread>

#include "FmaKernel.h"

int main() {
  const bool avx512 = tessera::bench::hasAvx512();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::printf("fma_peak isa=%s\n", avx512 ? "avx512" : "avx2");
  for (int threads : {1, cores}) {
    std::printf("fma_peak threads=%d gflops=%.1f\n", threads,
                tessera::bench::fmaGflopsMedian(threads, avx512));
    if (threads == cores) break;
  }
  return 0;
}
