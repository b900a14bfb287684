// The local version of one global op (step 2 of SpmdPartitioner.h). Most ops are the same op on
// local shapes; what differs follows from the op's split factors, never from a pattern:
//   - a split reduction factor over an uneven dim: padded elements are masked to the reduction's
//     identity (0 for sums and contractions, -inf for max) first;
//   - reduce_mean / cross_entropy(mean) over a split dim: a local sum divided by the GLOBAL count
//     (cross_entropy with ignore_index counts the kept targets with an all_reduce);
//   - softmax / log_softmax / cross_entropy with the normalized (class) axis split: decomposed
//     into a local max and sum of exponentials completed by all_reduce (vocab-parallel loss);
//   - gather with its table axis split: look up only local rows, zero the others (partial sum);
//   - scatter_add with its base split along the scattered axis: scatter only into local rows.
#pragma once

#include <vector>

#include "ir/Op.h"
#include "partition/propagation/ShardingPlan.h"
#include "partition/spmd/LocalBuilder.h"

namespace tessera::partition {

struct LoweringInput {
  const ir::Op& op;                         // the global op
  const FactorMap& factors;
  const std::vector<AxisNames>& factorAxes;  // effective: only factors the lowering splits
  std::vector<ir::Value*> operands;         // local, already in the layouts the op needs
  std::vector<ir::TensorType> resultTypes;  // local result types
};

StatusOr<std::vector<ir::Value*>> lowerOp(LocalBuilder& b, const LoweringInput& in);

}  // namespace tessera::partition
