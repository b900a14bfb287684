// Per-thunk timing of the CPU runtime, for finding where a step goes (issue 4's performance work).
//
// Enabled by the environment variable TESSERA_PROFILE (any value but "0"): the runtime then times
// every thunk of every run after the first (the first pays page faults and cold caches) and, when
// it is destroyed, prints to stderr one line per thunk kind and the costliest thunks, GEMMs with
// their shapes and achieved GFLOP/s, and the kernels and library calls grouped by signature (the
// same kernel on the same sizes) with the bytes they address and the GB/s they reach. Off, it
// costs one branch per thunk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/exec/Executable.h"

namespace tessera::codegen {

class ThunkProfile {
 public:
  // Whether TESSERA_PROFILE asks for a profile (read once).
  static bool enabledByEnvironment();

  // What a thunk did in one run: its seconds, and for a GEMM its shape (batch count, m, n, k).
  struct Sample {
    double seconds = 0;
    int64_t batch = 0, m = 0, n = 0, k = 0;
    int64_t rows = 0, cols = 0;  // kernels; library calls: elements in, elements out
    // Kernels and library calls: the distinct bytes the thunk's views address (each input and
    // output element counted once; a broadcast operand by its own size), for GB/s.
    int64_t bytes = 0;
  };

  // Distinct bytes a kernel view addresses: the product of the extents whose stride is nonzero
  // (`strides`: outer strides then the inner stride; `broadcastInner`: the inner index is not used).
  static int64_t viewBytes(const std::vector<int64_t>& outer, int64_t cols, const int64_t* strides,
                           bool broadcastInner, int64_t elementBytes);

  void beginRun(size_t thunks);
  void add(size_t thunk, const Sample& s);
  void endRun() { ++runs_; }

  // The printed table (empty when no run was timed).
  std::string report(const Executable& exe) const;

 private:
  struct Entry {
    double seconds = 0;
    int64_t count = 0;
    Sample last;
  };
  std::vector<Entry> entries_;
  int64_t runs_ = 0;
};

}  // namespace tessera::codegen
