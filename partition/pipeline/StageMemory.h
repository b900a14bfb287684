// The planned memory of each pipeline rank's step function, by category — what `tessera plan`
// and `tessera train --memory-report` print for a pipeline (issue 6: "the first stage holds the
// most activations under 1F1B — the report shows it").
//
// The liveness model is the planned-memory estimator's (passes/memory/MemoryPlan.h: a value lives
// from its defining op to its last use, arguments for the whole step, at concrete symbol values);
// the categories follow a pipeline rank's structure (PipelineStep.h) rather than a single-device
// step's, whose forward is only the ancestors of the loss:
//   parameters       the parameters it trains (arguments) and their updates (results 1..P);
//   optimizer state  their state and the step counter, and the updated state;
//   activations      what depends on a micro-batch (its data or a received activation) and is
//                    computed by the forward (PipelineForward.h; received activations included)
//                    or recomputed by remat (ops outside the forward that depend on no received
//                    gradient, no autodiff seed and no state);
//   gradients        backward values shaped like a trained parameter, not computed from state;
//   other            the rest: data micro-batches, received and computed activation gradients,
//                    backward and optimizer temporaries, values derived from parameters or
//                    constants alone (a transposed weight, the causal mask) ("workspace").
// Run on the partitioned program (the SPMD partitioner's local function), it is one device's
// memory; the symbols are those of the micro-batch (B = batch / M).
//
// Under 1F1B rank r holds at most p−r micro-batches' activations, under GPipe all M, so the
// activation peak falls from the first stage to the last under 1F1B and is level under GPipe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/Function.h"
#include "passes/memory/MemoryPlan.h"

namespace tessera::partition::pipeline {

struct StageMemoryInput {
  const ir::Function* function = nullptr;
  std::vector<std::string> params, state;  // argument names (TrainStepInfo order)
  std::vector<bool> activationSends;       // PipelineRankStep::activationSends
  std::string axis = "pp";
  std::vector<int> stages;                 // for the report
};

struct StageMemory {
  int64_t peakBytes = 0;
  int peakOp = -1;
  std::array<int64_t, passes::kNumMemoryCategories> peakByCategory{};  // at the peak; sums to it
  std::array<int64_t, passes::kNumMemoryCategories> maxByCategory{};   // each category's own peak
  std::vector<passes::LiveTensor> largestAtPeak;                       // largest first
  std::vector<int> stages;
};

// Errors: a symbol a shape needs that `symbols` does not bind.
StatusOr<StageMemory> planStageMemory(const StageMemoryInput& in, const std::map<std::string, int64_t>& symbols,
                                      int topN = 5);

// The category of every argument and op result (the rules above).
std::map<const ir::Value*, passes::MemoryCategory> classifyStageValues(const StageMemoryInput& in);

// The printed report, one block per pipeline rank (`ranks[r]` is pipeline rank r).
std::string printStageMemory(const std::vector<StageMemory>& ranks);

}  // namespace tessera::partition::pipeline
