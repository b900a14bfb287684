// Training with pipeline parallelism in one process: one thread per pipeline rank follows its
// schedule's action list (Schedule.h), running stage functions and their backward functions
// (StageSplit.h, StageBackward.h) through the reference interpreter and passing activations and
// gradients through simulated point-to-point channels. It is the oracle the MPI runtime will be
// checked against, as the in-process SPMD executor is for collectives.
//
// One step: the batch's data arguments are cut into M micro-batches along dim 0; every action
// runs in list order (a receive waits for its message, up to `timeout`, and checks it is the one
// the schedule expects); each stage sums its parameter gradients over the micro-batches; after the
// flush, the gradients of a parameter used by several stages (tied embeddings) are summed across
// them, scaled by 1/M, and the stage that first uses the parameter applies the optimizer once
// (StageUpdate.h). The step's loss is the mean of the micro-batch losses — the full-batch loss
// for a mean loss over equally sized micro-batches.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/Tensor.h"
#include "partition/pipeline/Schedule.h"
#include "partition/pipeline/StageSplit.h"
#include "passes/training/TrainStepOptions.h"

namespace tessera::partition::pipeline {

struct PipelineRunOptions {
  std::chrono::milliseconds timeout{30000};
};

class PipelineTrainer {
 public:
  // `plan` must have its backward functions (addStageBackward); the schedule's S = p·v must equal
  // the number of stages. Parameters start at the module parameters' initial values; optimizer
  // state at zero. Errors: mismatched stage counts, parameters without initial values, invalid
  // optimizer options.
  static StatusOr<std::unique_ptr<PipelineTrainer>> create(StagePlan plan, Schedule schedule,
                                                           const passes::OptimizerOptions& optimizer,
                                                           PipelineRunOptions options = {});

  // One training step on `batch` (the forward's data arguments by name, whole batch); returns the
  // loss. Errors: a missing data argument, a batch the micro-batches do not divide, a stage's
  // runtime error or a timed-out receive (naming the rank and action).
  StatusOr<double> step(const std::map<std::string, ir::Tensor>& batch);

  // Current trained parameters by name.
  const std::map<std::string, ir::Tensor>& params() const { return params_; }
  const StagePlan& plan() const { return plan_; }
  const Schedule& schedule() const { return schedule_; }

 private:
  PipelineTrainer() = default;
  struct Impl;

  StagePlan plan_;
  Schedule schedule_;
  PipelineRunOptions options_;
  std::vector<std::string> updateFunctions_;          // per stage, "" when it owns no parameter
  std::vector<std::vector<std::string>> owned_;       // per stage, the parameters it updates
  std::vector<std::string> stateSuffixes_;
  std::map<std::string, ir::Tensor> params_;
  std::map<std::string, ir::Tensor> state_;           // "<param>.<suffix>"
  ir::Tensor stepCount_;
};

}  // namespace tessera::partition::pipeline
