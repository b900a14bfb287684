// The backward function of each pipeline stage: the vector-Jacobian product of the stage
// function, built by the ordinary autodiff (passes/autodiff/Autodiff.h) on a scalar surrogate.
//
// For a stage y = f(x, w) that is not the last, the backward of one micro-batch needs
// dx = (∂y/∂x)ᵀ·dy and dw = (∂y/∂w)ᵀ·dy for the gradient dy received from the next stage. Those
// are exactly the gradients of the scalar  Σ_k sum(y_k ⊙ dy_k)  with respect to x and w, so the
// backward function is the stage's body followed by that scalar, differentiated:
//
//   @stage<s>_bwd(inputs..., args..., d_<output>...) -> (surrogate, grad inputs..., grad trained...)
//
// The last stage's surrogate is its loss. The backward function re-derives the stage's forward;
// inlined into a rank program next to the forward action on the same values, that copy is merged
// into the forward action's ops by CSE (RankPrograms.h reuseForward), so the backward reads the
// stored activations. Without that merge it recomputes the forward from the stage's inputs (the
// numbers are the same either way).
#pragma once

#include "partition/pipeline/StageSplit.h"

namespace tessera::partition::pipeline {

// Adds @stage<s>_bwd for every stage and fills Stage::backward and Stage::trained. Errors: a
// boundary value that is not a float tensor (it could not carry a gradient), autodiff's errors.
Status addStageBackward(StagePlan& plan);

}  // namespace tessera::partition::pipeline
