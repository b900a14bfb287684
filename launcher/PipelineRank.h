// What one rank of a pipeline plan (PipelinePlan.h) runs: the step function of its pipeline
// coordinate and, per argument, where its value comes from — the rank-local counterpart of the
// plan's argument list, used by RankTrainer.cpp so the SPMD and the pipeline paths share the
// training loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "launcher/DistributedPlan.h"

namespace tessera::launcher {

struct RankArgument {
  PlanArgument arg;     // name, layout over the mesh, role
  // Data arguments: the global step's argument the value is cut from ("tokens"), and the
  // micro-batch (-1: the whole value, e.g. a frozen parameter).
  std::string source;
  int microBatch = -1;
};

struct PipelineRankFunction {
  int64_t coordinate = 0;             // along the pipeline axis
  const ir::Function* function = nullptr;  // in plan.local
  std::vector<RankArgument> arguments;     // one per argument of `function`
  ir::Sharding lossSharding;
};

// The pipeline coordinate of world rank `rank` (row-major mesh order).
int64_t pipelineCoordinate(const DistributedPlan& plan, int64_t rank);

// Rank `rank`'s function and its arguments. Errors: not a pipeline plan, a missing function.
StatusOr<PipelineRankFunction> pipelineRankFunction(const DistributedPlan& plan, int64_t rank);

// The pipeline coordinate whose copy of parameter or state tensor `name` is reported (the owner
// of the parameter; "<param>.<suffix>" follows its parameter; anything else: coordinate 0).
int64_t pipelineOwner(const DistributedPlan& plan, const std::string& name);

// The loss of a pipeline plan: the last stage's coordinate may hold it as a pending sum over the
// batch axes (partial over dp) while the coordinates that receive it hold the summed value, so
// the layouts differ between coordinates. Whether any coordinate's loss needs a gather (then
// every rank takes part in it, so the world collective matches), and, of every world rank's
// piece, the ones of `rank`'s own pipeline coordinate in the place of each rank (what
// partition::assemble needs with `rank`'s loss layout).
bool pipelineLossGathered(const DistributedPlan& plan);
std::vector<double> pipelineCoordinatePieces(const DistributedPlan& plan, int64_t rank, const std::vector<double>& all);

}  // namespace tessera::launcher
