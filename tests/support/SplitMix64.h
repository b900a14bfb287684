// splitmix64: a tiny deterministic generator for tests. Its output is the same on every platform
// (std distributions are not), so a failing fuzz or gradient-check input reproduces anywhere.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tessera::testing_support {

struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (modulo bias is irrelevant for tests).
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
  // Uniform in [lo, hi), from the top 53 bits.
  double uniform(double lo, double hi) {
    double u = static_cast<double>(next() >> 11) * 0x1.0p-53;
    return lo + (hi - lo) * u;
  }
};

}  // namespace tessera::testing_support
