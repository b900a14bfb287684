// The forward part of a pipeline rank's program (@rank<r> of RankPrograms.h, @pp_step<r> of
// PipelineStep.h, or either partitioned further by the SPMD partitioner): the ops whose values
// the rank's forward actions compute.
//
// A single-device training step finds its forward as the ancestors of the loss (result 0). A
// pipeline rank's forward ends in its activation sends instead (and, on the last stage's rank,
// in the loss); its result 0 is, on the other ranks, only the loss received from the last
// stage. So the forward here is the ancestors of result 0 and of the values its activation sends
// carry — which sends those are, the rank program records (RankProgram::activationSends: its
// sends along the pipeline axis, in program order; they stay first and in order through
// inlining into @pp_step, CSE, DCE, remat and SPMD partitioning, which add no sends on that
// axis before them).
#pragma once

#include <string>
#include <vector>

#include "ir/Function.h"

namespace tessera::partition::pipeline {

// The values the forward ends in: result 0, then the operand of every activation send.
std::vector<const ir::Value*> forwardRoots(const ir::Function& f, const std::vector<bool>& activationSends,
                                           const std::string& axis);

// Per op position of f: whether the op belongs to the forward (an ancestor of a root).
std::vector<bool> forwardOps(const ir::Function& f, const std::vector<bool>& activationSends,
                             const std::string& axis);

}  // namespace tessera::partition::pipeline
