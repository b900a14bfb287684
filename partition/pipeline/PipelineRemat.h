// Activation checkpointing (passes/remat/) of a pipeline rank's step function.
//
// Since the backward actions read their forward actions' activations (RankPrograms.h,
// reuseForward), a pipeline rank stores every layer's activations of each micro-batch in flight;
// remat trades that memory for recomputation exactly as on one device: `full` keeps each layer's
// inputs and recomputes the rest of the layer just before its backward, `selective` recomputes
// the attention softmax chains and GELUs. The remat pass finds a step's forward as the ancestors
// of its loss, which on a pipeline rank misses the forward of every stage but the last; here the
// forward is the pipeline's (PipelineForward.h), and the layers, candidates and clones are the
// remat pass's own (findRematLayers, applyRemat): run on a scratch copy whose result 0 depends
// on every forward root and which returns the roots (so what is sent stays stored), then applied
// to the function itself. Clones are the same ops on the same values: results stay bitwise equal.
//
// Must run after CSE (a later CSE would merge the clones back into the forward).
#pragma once

#include <string>
#include <vector>

#include "ir/Function.h"
#include "passes/remat/RematPass.h"

namespace tessera::partition::pipeline {

// Applies `mode` (none, selective or full) to every layer of f's forward. Returns whether
// anything was recomputed. Errors: auto (it needs a budget per stage: not supported).
StatusOr<bool> rematPipelineFunction(ir::Function& f, const std::vector<bool>& activationSends,
                                     const std::string& axis, passes::RematMode mode);

}  // namespace tessera::partition::pipeline
