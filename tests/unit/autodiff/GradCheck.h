// The finite-difference gradient check used by GradCheckTest.cpp, as reusable pieces.
//
// A sample is a module whose @main takes f64 float arguments (the differentiation inputs) and
// returns the outputs of the op under test; integer inputs are frozen module parameters. The
// check appends loss = sum over float results r of reduce_sum(f64(r) * W_r), with W_r fixed
// random weights passed as extra arguments (so symbolic shapes work), differentiates the loss
// with respect to every float argument, runs the interpreter, and compares each gradient element
// with the central difference (L(x + h) - L(x - h)) / 2h computed from the same module without
// the backward ops.
//
// Tolerance: |analytic - fd| <= atol + rtol * |fd|. With h = 1e-6 in f64 the central
// difference's truncation error is h^2/6 |L'''| ~ 1e-12 and its rounding error is about
// eps |L| / h ~ 1e-10 |L|; samples keep |L| below ~10, so the defaults rtol = 1e-6,
// atol = 1e-7 leave a margin of ~100 over the expected error while still catching any wrong
// factor or sign. A sample may override them with `// fd: step=H rtol=R atol=A` (used only where
// the function itself rounds, e.g. a cast through f32, and documented there).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/Module.h"

namespace tessera::gradcheck {

struct Sample {
  std::string text;  // the module, preceded by blank lines so parse errors carry file lines
  int firstLine = 1;
  double lo = -1, hi = 1;              // `// inputs: uniform(LO, HI)`
  std::map<std::string, int64_t> symbols;  // `// symbols: B=2, S=3`
  double step = 1e-6, rtol = 1e-6, atol = 1e-7;  // `// fd: step=H rtol=R atol=A`
};

// Splits a fixture file at lines `// -----` and reads each chunk's directive comments.
// Errors (a malformed directive) name the file and line.
StatusOr<std::vector<Sample>> splitSamples(const std::string& text, const std::string& filename);

struct Mismatch {
  std::string arg;
  int64_t index = 0;
  double analytic = 0, numeric = 0;
};

struct CheckResult {
  int64_t checked = 0;             // gradient elements compared
  double maxAbsError = 0;          // over all compared elements
  std::vector<Mismatch> mismatches;
  std::string backwardIR;          // the differentiated module, for failure messages
};

// What to do to the differentiated function before running it; tests of the harness itself use
// it to plant a wrong gradient.
using Tamper = void (*)(ir::Function& f, int numGrads);

// Runs the check on one sample. `seed` makes the random inputs and weights reproducible.
// `mustContain` (if set) is an op kind the sample must use, so a sample cannot test the wrong op.
StatusOr<CheckResult> checkSample(const Sample& s, const std::string& filename, uint64_t seed,
                                  std::optional<ir::OpKind> mustContain = std::nullopt,
                                  Tamper tamper = nullptr);

}  // namespace tessera::gradcheck
