// The pipeline part of a distributed plan (DistributedPlan::pipeline): which step function each
// pipeline rank runs, and how the pipeline was built (for display and for the run's checks).
//
// In a pipeline plan the local module holds one training step per pipeline coordinate
// (partition/pipeline/PipelineStep.h: @pp_step<r>(data micro-batches..., params_r..., state_r...,
// step) -> (loss, params_r'..., state_r'..., step')); a rank runs the one of its coordinate along
// `axis`. The local module's @<plan.function> is then only the communicator manifest: it has the
// global step's signature (so the plan's argument list still describes it) and one axis_index op
// per axis set any rank's step communicates over, so RankContext::create, given it, splits the
// same communicators in the same order on every rank. It is never run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/Sharding.h"

namespace tessera::launcher {

struct PipelinePlan {
  std::string axis = "pp";
  std::vector<std::string> functions;  // per pipeline coordinate; empty: not a pipeline plan
  // Per function: its arguments' and results' layouts over the mesh (empty: all replicated).
  std::vector<std::vector<ir::Sharding>> argShardings, resultShardings;
  // Per function: the parameters whose copy that rank reports (a tied parameter's lowest holder).
  std::vector<std::vector<std::string>> owned;
  // How it was built, for display.
  std::string schedule;  // "1f1b", "gpipe", "interleaved"
  int microBatches = 1, virtualStages = 1;
  std::vector<std::string> cuts;  // the cut value of each stage boundary

  bool active() const { return !functions.empty(); }
};

}  // namespace tessera::launcher
