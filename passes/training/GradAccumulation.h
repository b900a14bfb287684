// Gradient accumulation over K micro-batches, unrolled in the IR.
//
// The batch is the leading dim of the forward function's data arguments, and it must be a symbol
// B (a concrete batch size cannot be split without re-deriving every declared shape that depends
// on it). Micro-batch k takes rows [k*B/K, (k+1)*B/K) of every non-trainable argument whose type
// mentions B; other non-trainable arguments (frozen constants) are shared. Each micro-batch runs
// the differentiated forward function specialized to B/K (FunctionInliner.h), and the step's loss
// and gradients are the averages over the K micro-batches: with a mean loss over the batch, that
// is exactly the full-batch loss and gradient (up to rounding). The module must declare
// `sym B divisible_by K` (a multiple of K), which buildTrainStep arranges.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "passes/training/FunctionInliner.h"

namespace tessera::passes {

struct MicroBatchPlan {
  int count = 1;                          // K
  std::optional<DimSubstitution> subst;   // B -> B/K, when K > 1
  std::vector<bool> split;                // per forward argument: sliced along dim 0
};

// Checks that `f` can be split into `k` micro-batches; `trainable[i]` tells whether argument i
// is a trained parameter. Errors name the argument that prevents the split.
StatusOr<MicroBatchPlan> planMicroBatches(const ir::Function& f, const std::vector<bool>& trainable,
                                          int k);

struct AccumulatedGradients {
  ir::Value* loss = nullptr;
  std::vector<ir::Value*> grads;  // one per gradient result of `grad`
};

// `grad` is the forward function specialized by `plan.subst` and differentiated: its results
// are the forward's `numForwardResults` results (result 0 = loss) followed by the gradients.
// `args[i]` is the value (in e's function) of forward argument i for the whole batch.
StatusOr<AccumulatedGradients> accumulateGradients(IrEmitter& e, const ir::Function& grad,
                                                   int numForwardResults,
                                                   const MicroBatchPlan& plan,
                                                   const std::vector<ir::Value*>& args);

}  // namespace tessera::passes
