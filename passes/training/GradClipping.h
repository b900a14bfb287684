// Clipping gradients by their global norm, exactly as torch.nn.utils.clip_grad_norm_ does:
//
//   total_norm = sqrt(sum over every gradient of the sum of its squared elements)
//   coef = min(max_norm / (total_norm + 1e-6), 1)
//   every gradient *= coef
//
// torch multiplies by the clamped coefficient unconditionally (no branch), and so does this: a
// step whose norm is below max_norm scales by exactly 1. The norm is accumulated in the dtype of
// the first gradient (others are cast), as torch stacks the per-tensor norms in one dtype.
#pragma once

#include <vector>

#include "passes/training/IrEmitter.h"

namespace tessera::passes {

struct ClippedGrads {
  std::vector<ir::Value*> grads;  // parallel to the input
  ir::Value* totalNorm = nullptr; // the norm before clipping
};

// `grads` must be non-empty and float.
StatusOr<ClippedGrads> clipByGlobalNorm(IrEmitter& e, const std::vector<ir::Value*>& grads,
                                        double maxNorm);

}  // namespace tessera::passes
