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
// The last stage's surrogate is its loss. The backward recomputes the stage's forward (it does
// not reuse the activations of the forward action): the pipeline's memory then holds only each
// stage's inputs per micro-batch in flight, and the numbers are the same.
#pragma once

#include "partition/pipeline/StageSplit.h"

namespace tessera::partition::pipeline {

// Adds @stage<s>_bwd for every stage and fills Stage::backward and Stage::trained. Errors: a
// boundary value that is not a float tensor (it could not carry a gradient), autodiff's errors.
Status addStageBackward(StagePlan& plan);

}  // namespace tessera::partition::pipeline
