// Buffer assignment: liveness over the thunk order, with the symbols bound to concrete values,
// then one arena laid out first-fit by offset, with in-place reuse:
// - an elementwise kernel may write its output over an input that dies there when both have the
//   same size and the same view (each element is read before it is written, at the same place)
//   and no output the kernel stores later still reads that input (a compiled kernel stores its
//   outputs one after another, BufferPlan.cpp: readAfterStore);
// - a function result may be written straight over an argument (the optimizer's new parameter
//   over the old one) under the same rule, when the argument is not read afterwards.
// The plan is cheap and deterministic; the runtime plans once per distinct symbol binding.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "codegen/exec/Executable.h"

namespace tessera::codegen {

struct BufferPlan {
  std::map<std::string, int64_t> symbols;
  std::vector<int64_t> bytes;         // per buffer
  std::vector<int64_t> offset;        // arena offset; -1 for argument storage
  std::vector<int> storageArgument;   // >= 0: the buffer lives in that argument's storage
  std::vector<int> firstUse, lastUse; // thunk indices (lastUse = #thunks for results)
  int64_t arenaBytes = 0;             // the arena's size: its peak, fragmentation included
  // Results written in place over their argument: result index -> argument index.
  std::map<int, int> inPlaceResults;
  // At the thunk where live arena bytes peak: bytes per category and the live buffers.
  int peakThunk = -1;
  int64_t peakLiveBytes = 0;
  std::vector<int64_t> peakByCategory;  // kNumMemCategories entries (arena only)
  std::vector<int> peakLiveBuffers;     // largest first
  std::vector<int64_t> argumentBytesByCategory;  // storage outside the arena, per category
};

// Evaluates every Dim of `exe` with `symbols` (an error names the missing symbol) and plans.
// `resultAliases` asks for result i to end up in argument j's storage (in place when allowed;
// otherwise the runtime copies it there after the run).
StatusOr<BufferPlan> planBuffers(const Executable& exe,
                                 const std::map<std::string, int64_t>& symbols,
                                 const std::map<int, int>& resultAliases);

// Evaluates a Dim that the lowering produced; asserts success when the plan already evaluated
// every buffer (the symbols are bound).
int64_t evalDim(const ir::Dim& d, const std::map<std::string, int64_t>& symbols);

}  // namespace tessera::codegen
