// The planned-memory estimator: how many bytes a function holds at each op, at concrete symbol
// values (B, S, ...), if every value lives exactly as long as the program needs it.
//
// This is the pass-level estimate that activation checkpointing (passes/remat/) plans against;
// codegen's buffer assignment later gives the exact allocator figure (in-place updates, reuse,
// workspace). The model, deliberately simple so that a planner can reason about it exactly:
//   - the schedule is the op order;
//   - a value is live from the op that defines it to its last use, inclusive (a value nobody uses
//     is live at its defining op only);
//   - arguments are live for the whole step; values the function returns live to the end;
//   - at op i, the live bytes are the sum of the sizes of the values live at i (an op's operands
//     and results are both live while it runs).
// A function without ops holds its arguments: its peak is their total size.
//
// Categories come from the structure of @train_step (passes/training/TrainStep.h):
//   parameters      the trained-parameter arguments and their updates (results 1..P);
//   optimizer state the arguments after the parameters (m, v, momentum, step) and their updates;
//   gradients       backward values shaped like a trained parameter (parameter gradients and their
//                   partial sums), not computed from optimizer state;
//   activations     forward values (those the loss, result 0, depends on) and their recomputed
//                   copies (ops outside the forward that depend on no gradient seed and no state);
//   other           data inputs, activation gradients and other backward temporaries, optimizer
//                   temporaries, constants.
// The backward is found from its gradient seeds: operand-less float-scalar `full 1.0` ops outside
// the forward (autodiff's d loss / d loss). In a function that is not a training step (no
// parameter arguments are found) every argument counts as `other` and every op value as an
// activation.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/Function.h"

namespace tessera::passes {

enum class MemoryCategory { Parameters, Gradients, OptimizerState, Activations, Other };
inline constexpr int kNumMemoryCategories = 5;
const char* memoryCategoryName(MemoryCategory c);  // "parameters", ..., "other"

struct LiveTensor {
  const ir::Value* value = nullptr;
  int64_t bytes = 0;
  MemoryCategory category = MemoryCategory::Other;
};

struct MemoryPlan {
  std::vector<int64_t> curve;  // live bytes at each op, indexed like f.ops()
  int64_t peakBytes = 0;
  int peakOp = -1;  // the first op where the peak is reached; -1 for a function without ops
  std::array<int64_t, kNumMemoryCategories> peakByCategory{};  // sums to peakBytes
  std::vector<LiveTensor> largestAtPeak;  // largest first
};

// The liveness model above, without categories: one interval per value.
struct ValueLifetime {
  const ir::Value* value = nullptr;
  int64_t bytes = 0;
  int first = 0, last = 0;  // op positions, inclusive
};

// Errors: a symbol a shape needs that `symbols` does not bind (names the value).
StatusOr<std::vector<ValueLifetime>> valueLifetimes(const ir::Function& f,
                                                    const std::map<std::string, int64_t>& symbols);
// Live bytes at each op.
StatusOr<std::vector<int64_t>> liveBytesCurve(const ir::Function& f,
                                              const std::map<std::string, int64_t>& symbols);
// The peak of the curve (the arguments' size for a function without ops).
StatusOr<int64_t> plannedPeak(const ir::Function& f, const std::map<std::string, int64_t>& symbols);
// The whole report: curve, peak, categories at the peak, the `topN` largest tensors live there.
StatusOr<MemoryPlan> planMemory(const ir::Function& f,
                                const std::map<std::string, int64_t>& symbols, int topN = 10);

// Bytes of one value at the given symbol values.
StatusOr<int64_t> valueBytes(const ir::Value& v, const std::map<std::string, int64_t>& symbols);
// The category of every argument and op result of `f` (the rules above).
std::map<const ir::Value*, MemoryCategory> classifyValues(const ir::Function& f);

// "1.50 MiB"-style text for reports.
std::string formatBytes(int64_t bytes);

}  // namespace tessera::passes
