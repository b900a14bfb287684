// The whole training step of a pipeline-parallel model as one ordinary function per pipeline
// rank — what every rank of an MPI job runs (launcher/RankTrainer.h), and what the SPMD
// partitioner can split further over the mesh's other axes (a stage's own dp/tp).
//
//   @pp_step<r>(data micro-batches..., params_r..., state_r..., step)
//       -> (loss, params_r'..., state_r'..., step')
//
// Inside, in order:
//   1. the rank's schedule (RankPrograms.h: each forward/backward of (micro-batch, chunk) inlined,
//      IR send/recv on the pipeline axis), which sums its gradients over micro-batches and chunks;
//   2. the cross-stage sum of tied parameters' gradients (the embedding used by the first and the
//      last stage): the ranks holding a tied parameter send their sums to the lowest of them (the
//      owner), which adds them in rank order and sends the total back — every holder then has the
//      same bits and applies the same update, so the copies never drift (Megatron's embedding
//      group). Point-to-point only, in an order the blocking check (PipelineOrderCheck.h) accepts;
//   3. the 1/M scaling (the step's gradient is the mean over micro-batches), then with ts.clip
//      clipping by the global norm of the whole model's gradient: each rank's squared norm (a
//      tied parameter counted once, at its owner) summed at pipeline rank 0 in rank order and sent
//      back, so every rank scales by the same coefficient (GradClipping.h's formula);
//   4. the optimizer update of every parameter the rank holds (StageUpdate.h: the same optimizer
//      code as the single-device step);
//   5. the loss: the last stage's sum of micro-batch losses / M, sent to every other pipeline rank,
//      so every rank returns the same loss (rank 0 prints it).
//
// Argument naming follows passes/training/TrainStep.h: parameters and state keep the names of the
// module parameters they are bound to (`wte`, `wte.m`, `wte.v`, `step`), so the module's initial
// values (parameters: their init; state: zeros) start every rank exactly where the single-device
// step starts. Data arguments are "<arg>.mb<k>": rows [k·n/M, (k+1)·n/M) of the forward's data
// argument (only the ranks whose stages use it take it: tokens on the first, targets on the last;
// a rank whose stages take no data takes micro-batch 0 of the first data argument, unused, so that
// the batch and sequence symbols of the activations it receives are bound).
//
// With options.remat, each rank's step is checkpointed (PipelineRemat.h) once built.
//
// Not supported (errors): accum > 1 (micro-batching is the pipeline's), early updates.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/Module.h"
#include "partition/pipeline/RankPrograms.h"
#include "partition/pipeline/Schedule.h"
#include "partition/pipeline/StageSplit.h"
#include "passes/remat/RematPass.h"
#include "passes/training/TrainStep.h"
#include "passes/training/TrainStepOptions.h"

namespace tessera::partition::pipeline {

struct PipelineStepOptions {
  SplitOptions split;         // stages (must be schedule.numStages()), cuts, cost symbols
  ScheduleConfig schedule;    // kind, p, M, v
  // The mesh the send/recv ops name and its pipeline axis (size p). If the module has no mesh of
  // that name, a 1-D mesh {axis: p} is added. Other axes of an existing mesh are left to the SPMD
  // partitioner.
  std::string mesh = "mesh";
  std::string axis = "pp";
  std::string prefix = "pp_step";  // functions are <prefix><r>
  // Backward actions read their forward action's activations (RankPrograms.h); false: each
  // backward recomputes its stage's forward from the stage inputs (one extra forward per step).
  bool reuseForward = true;
  // Activation checkpointing of each rank's step (PipelineRemat.h): none, selective or full.
  passes::RematMode remat = passes::RematMode::None;
};

// One rank's step function, described like a single-device training step (TrainStepInfo: batch
// arguments = the data micro-batches, params = the parameters it holds, state = their optimizer
// state then "step"), so the code that runs @train_step runs it.
struct PipelineRankStep {
  passes::TrainStepInfo info;
  // Of info.batchArgs, for each: the forward's data argument and the micro-batch it is.
  std::vector<std::string> dataOf;
  std::vector<int> microBatchOf;
  // Of info.params: the ones this rank owns (it is the lowest rank holding them) — the copy to
  // report; a tied parameter's other holders carry identical copies.
  std::vector<std::string> owned;
  std::vector<int> stages;  // the stages it runs (chunk order)
  // Its sends along the pipeline axis that carry activations (RankProgram::activationSends):
  // how PipelineForward.h finds the forward of the step function.
  std::vector<bool> activationSends;
};

struct PipelineStep {
  std::unique_ptr<ir::Module> module;  // the step functions (plus stage helpers), every module
                                       // parameter with its initial value, zero state, the mesh
  StagePlan stagesInfo;                // the split (its module moved into `module`)
  Schedule schedule;
  std::vector<RankProgram> programs;   // the schedule-only programs @rank<r> (also in `module`)
  std::vector<PipelineRankStep> ranks; // ranks[r]: @<prefix><r>
  std::vector<std::string> dataArgs;   // the forward's data arguments (split into micro-batches)
  std::vector<std::string> stateSuffixes;  // the optimizer's ("m", "v" / "momentum")
};

// Builds the pipeline step of forward `ts.forward` of `m` (left unchanged). Errors: those of
// splitStages (more stages than layers, a cut inside a layer, ...), validateConfig (M not a
// multiple of p for interleaved, ...), a stage count different from p·v, accum > 1 / early
// updates, invalid optimizer options, the mesh's axis of the wrong size, remat auto.
StatusOr<PipelineStep> buildPipelineStep(const ir::Module& m, const passes::TrainStepOptions& ts,
                                         const PipelineStepOptions& options);

// Rows [k·n/M, (k+1)·n/M) of `t` along dim 0 (the micro-batch k of M). Errors: rank 0, M not
// dividing dim 0 (the message names `what`).
StatusOr<ir::Tensor> microBatchOf(const ir::Tensor& t, int k, int M, const std::string& what);

// The inputs of rank r's step function, in order: data micro-batches cut from `batch` (the
// forward's data arguments by name, whole batch), then `values` for every parameter and state
// tensor by name. Errors: a missing value, M not dividing the batch.
StatusOr<std::vector<ir::Tensor>> rankStepInputs(const PipelineStep& step, int r,
                                                 const std::map<std::string, ir::Tensor>& batch,
                                                 const std::map<std::string, ir::Tensor>& values);

}  // namespace tessera::partition::pipeline
