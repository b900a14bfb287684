// The per-rank programs of a pipeline step: for rank r a function @rank<r> that performs its
// schedule's actions in order — each forward and backward of (micro-batch, chunk) inlined from the
// stage functions (StageSplit.h, StageBackward.h), each send and receive an IR `send` / `recv` op
// on the pipeline axis of a mesh — and returns its loss sum (if it runs the last stage) and, per
// parameter it trains, the gradient summed over its micro-batches and chunks.
//
// These are what a multi-process runtime runs (one program per rank, no scheduler of its own),
// and what the ordering check (PipelineOrderCheck.h) proves hang-free before anything runs.
// The optimizer step (StageUpdate.h) is not part of them: it runs after the cross-stage sum of
// tied parameters' gradients and the 1/M scaling.
//
//   @rank<r>(params..., <data>.mb<k>...) -> (loss_sum?, grad_<param>...)
//
// `params`: every module parameter the rank's stages take, in first-use order; data arguments
// are given per micro-batch. Send/recv peers are positions along `axis`, which must be a mesh axis
// of size p whose coordinate is the pipeline rank; other axes of the mesh (a stage's own dp/tp)
// are left to the SPMD partitioner.
#pragma once

#include <string>
#include <vector>

#include "partition/pipeline/Schedule.h"
#include "partition/pipeline/StageSplit.h"

namespace tessera::partition::pipeline {

struct RankProgram {
  std::string function;               // "rank<r>" in the plan's module
  std::vector<std::string> params;    // its first arguments
  std::vector<std::string> data;      // then these ("tokens.mb0", ...)
  bool hasLoss = false;               // result 0 is the sum of the micro-batch losses
  std::vector<std::string> grads;     // parameters whose summed gradients follow, in order
  // Per send op, in program order: true for an activation (the forward's output, to the next
  // stage), false for a gradient (to the previous stage). Passes that need the forward part of a
  // rank's program (PipelineRemat.h, StageMemory.h) find it from these.
  std::vector<bool> activationSends;
};

// Adds @rank<r> for every rank to plan.module (which must hold the backward functions and a mesh
// named `mesh` with an axis `axis` of size p). Errors: the mesh or axis missing or of the wrong
// size, a schedule for another number of stages, an invalid schedule (checkSchedule).
//
// reuseForward (the default): each backward action reads the activations its forward action
// computed — the backward functions re-derive the stage's forward on the same values, and common
// subexpression elimination (passes/CsePass.h) merges that copy into the forward action's ops,
// then dead code elimination drops what only the copy used. A pipeline step then computes each
// forward once, and activations live from F to B (1F1B's memory profile: at most p−r micro-batches
// in flight on rank r). Results are bitwise the same: CSE merges identical computations.
// false: the backward recomputes the stage's forward from the stage's inputs (stage-granular
// checkpointing: only the inputs of each micro-batch in flight are kept, at one extra forward).
StatusOr<std::vector<RankProgram>> buildRankPrograms(StagePlan& plan, const Schedule& schedule,
                                                     const std::string& mesh, const std::string& axis,
                                                     bool reuseForward = true);

}  // namespace tessera::partition::pipeline
