// Splitting the forward function of a layered model into pipeline stages at layer boundaries.
//
// A layered model marks the residual stream after layer l with a value named `h<l>.out` (the zoo's
// GPT and MoE-GPT do). A cut between stages is one such value — by layer number (`2` = the stage
// starts at layer 2, the cut is %h1.out) or by value name (`%h1.out`) — or, without cuts, the
// split that minimizes the most expensive stage (FLOPs per layer from the cost model, the
// embedding counted with the first layer and the head and loss with the last).
//
// Each stage becomes an ordinary function `@stage<s>` (so the SPMD partitioner can split it
// further on the stage's sub-mesh) taking
//     (boundary values from stage s-1..., the forward's arguments the stage uses...)
// and returning the boundary values for stage s+1 (the last stage returns the forward's results,
// loss first). Ops are assigned by program order; ops that depend on no argument at all (iota,
// constants, the causal mask) are recomputed in every stage that uses them instead of being sent.
// The values crossing a cut must be the cut value itself plus any scalars (running sums such as
// MoE auxiliary losses); anything else — a residual branch computed before the cut and added
// after it — means the cut lies inside a layer, and is an error naming that value. Values needed
// further down than the next stage are passed through the stages in between.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/Module.h"

namespace tessera::partition::pipeline {

struct SplitOptions {
  int stages = 1;
  // Empty: balanced by cost. Else stages-1 cuts in increasing order: a layer number or a value
  // name (with or without `%`).
  std::vector<std::string> cuts;
  // Symbol values for the cost model (unlisted symbols count as their divisibility, at least 1).
  std::map<std::string, int64_t> symbols;
};

struct Stage {
  std::string function;               // "stage<s>" in StagePlan::module
  std::vector<std::string> inputs;    // boundary values from stage s-1 (names in the forward)
  std::vector<std::string> outputs;   // boundary values for stage s+1; last stage: empty
  std::vector<std::string> args;      // the forward's arguments it takes, in the forward's order
  int firstLayer = 0, endLayer = 0;   // the layers [first, end) it runs
  double cost = 0;                    // FLOPs by the cost model
  // Filled by addStageBackward (StageBackward.h): the backward function, and which of the
  // stage's arguments get a gradient (its results after the surrogate loss, in this order).
  std::string backward;
  std::vector<std::string> trained;   // trainable parameters among `args`
};

struct StagePlan {
  std::unique_ptr<ir::Module> module;  // the stage functions (and their backward functions)
  std::vector<Stage> stages;
  std::vector<std::string> cuts;       // the cut value of each boundary
  int numLayers = 0;
  std::string forward;                 // the forward function that was split
};

// Errors: no layer boundaries (`h<N>.out`) in the function, more stages than layers, a wrong
// number of cuts, a cut that is not a value of the function / not increasing / out of range, a
// cut that would cut a residual, a result of the forward computed before the last stage.
StatusOr<StagePlan> splitStages(const ir::Function& forward, const SplitOptions& options);

// One line per stage: "stage 1: layers [1,2) in %h0.out -> out %h1.out, 13 args, 1.2 MFLOP".
std::string printStagePlan(const StagePlan& plan);

}  // namespace tessera::partition::pipeline
