// Pipeline parallelism in `tessera train` and `tessera plan`: the flags, and the plan built from
// the global training step when the mesh has a `pp` axis —
//   tessera train gpt -np 2 --mesh pp=2 --micro-batches 4 --schedule 1f1b
//   tessera plan gpt --mesh pp=2 --stages %h1.out --show-schedule -o plan.tpb
//   mpirun -np 2 tessera run plan.tpb
//
// The plan's local module holds one step function per pipeline rank (partition/pipeline/
// PipelineStep.h), checked for hang freedom (PipelineOrderCheck.h) before anything runs; every
// bad input (more stages than layers, a cut inside a layer, micro-batches that do not divide the
// batch, an interleaved schedule with M not a multiple of p) is a usage error before MPI starts.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "launcher/DistributedPlan.h"
#include "launcher/DistributedTrain.h"
#include "partition/pipeline/PipelineStep.h"
#include "passes/remat/RematPass.h"
#include "passes/training/TrainStepOptions.h"

namespace tessera::launcher {

struct PipelineFlags {
  bool planCommand = false;
  std::string stages;        // --stages N | auto | cut,cut (layer numbers or value names)
  int microBatches = 0;      // --micro-batches M (0: p)
  std::string schedule;      // --schedule gpipe|1f1b|interleaved (default 1f1b)
  int virtualStages = 0;     // --virtual-stages V (0: 2 for interleaved, else 1)
  bool showSchedule = false;  // plan: print the per-rank timeline
  std::string scheduleSvg;    // plan: write the timeline as SVG
  // Set by the train command from its own flags (not pipeline flags): --remat (none, selective,
  // full; PipelineRemat.h) and --memory-report (the planned memory per pipeline rank).
  passes::RematMode remat = passes::RematMode::None;
  bool memoryReport = false;

  // Whether any pipeline flag was given.
  bool given() const;
};

void addPipelineFlags(CLI::App* cmd, PipelineFlags& f);

// Whether the distributed run is a pipeline: the mesh names a `pp` axis, or a pipeline flag was
// given (then the mesh must have one).
bool pipelineRequested(const PipelineFlags& f, const DistFlags& d);

// The pipeline step options from the flags for a mesh whose `pp` axis has size p and a global
// batch `batch` (0: unknown). Usage errors name the flag.
StatusOr<partition::pipeline::PipelineStepOptions> pipelineOptions(const PipelineFlags& f, const ir::Mesh& mesh,
                                                                   int64_t batch);

// The plan: `m` holds the global step `info` (built with `ts`), which stays the plan's global
// module (its initial values and fingerprint); the local module holds the pipeline step functions.
//
// With other mesh axes than the pipeline's (pp x dp, pp x tp, ...), each step function is then
// partitioned over them by request.presets (partition/plan/PartitionStep.h partitionPrograms, at
// the micro-batch's symbol values: B = batch / M): the local module holds the partitioned
// functions, and the pipeline section their argument and result layouts — each rank takes its
// shard of its stage's parameters and state and its dp shard of every micro-batch. Errors (usage):
// a preset on the pipeline axis, a micro-batch the dp/ep axes do not divide.
//
// memoryText: the planned memory per pipeline rank (StageMemory.h) on one device, at the
// request's batch and sequence (needs request.data).
StatusOr<DistributedPlan> buildPipelinePlan(std::unique_ptr<ir::Module> m, const passes::TrainStepInfo& info,
                                            const passes::TrainStepOptions& ts, PlanRequest request,
                                            const partition::pipeline::PipelineStepOptions& options,
                                            std::string* scheduleText = nullptr,
                                            std::string* scheduleSvg = nullptr,
                                            std::string* memoryText = nullptr);

// What `tessera plan` prints for a pipeline plan: stages, schedule, per rank parameter bytes.
std::string pipelineSummary(const DistributedPlan& plan);

// `tessera plan` / `tessera train -np` for a pipeline (the counterpart of runDistributed).
int runPipelineDistributed(const DistFlags& d, const PipelineFlags& f, DistContext ctx,
                           const passes::TrainStepOptions& ts);

}  // namespace tessera::launcher
