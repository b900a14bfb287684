// Reverse-mode automatic differentiation of a function with a scalar loss.
//
// `differentiate` appends to `f` the backward ops computing the gradient of result `lossIndex`
// (which must be a scalar float) with respect to each argument in `wrt`, and appends those
// gradients as new results of `f` (in the order of `wrt`, named `grad_<argument name>`).
// Precondition (checked): `f` verifies. Errors: a non-scalar or non-float loss; an argument in
// `wrt` that the loss does not depend on differentiably — the error names the op that blocks the
// path (a ZERO_GRAD or NO_GRAD op) or says there is no path at all.
#pragma once

#include <vector>

#include "ir/Function.h"

namespace tessera::passes {

struct GradientInfo {
  std::vector<ir::Value*> grads;  // the new results, one per `wrt` argument
};

StatusOr<GradientInfo> differentiate(ir::Function& f, int lossIndex,
                                     const std::vector<ir::Value*>& wrt);

// The arguments of `f` bound to trainable module parameters (same name, Parameter::trainable).
std::vector<ir::Value*> trainableArguments(const ir::Function& f);

}  // namespace tessera::passes
