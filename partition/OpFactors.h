// Op sharding rules as factors (SHARDING.md §2): each op is described by its iteration dimensions
// ("factors", einsum-style), and every operand and result dimension maps to one factor or to none
// (a broadcast size-1 dim, a dim the op reads whole). Propagation and the SPMD partitioner derive
// everything — data, tensor, sequence, ZeRO, expert parallelism, vocab-parallel losses — from these
// maps; there is no pattern-matched special case anywhere in partition/.
//
// The rule of each op kind lives in one table, partition/FactorRules.def (one line per op, like
// passes/autodiff/GradRules.def for gradients); a test fails when an op of ir/OpKinds.def has none.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ir/Op.h"
#include "ir/Sharding.h"
#include "ir/Status.h"

namespace tessera::partition {

enum class FactorKind {
  Parallel,      // split freely: every tensor carrying it is split the same way
  ReduceSum,     // contracted/reduced with a sum: splitting it makes the result partial{sum}
  ReduceMax,     // reduced with a max: splitting it makes the result partial{max}
  Local,         // must stay whole on each device (top_k axis, cumsum axis, layer-norm axes, ...)
  // The axis an op normalizes over with a max and a sum (softmax, log_softmax, the class dim of
  // cross_entropy). It may be split: the local op is decomposed into its primitives
  // (SHARDING.md §2) — a local max completed by all_reduce{max}, a local sum of exponentials
  // completed by all_reduce{sum}, the target logit taken by the device that owns it and
  // completed by all_reduce{sum} — so a vocab-parallel loss moves per-row statistics, never
  // the logits. The result is complete (not partial) along the axis's mesh axes.
  Normalized,
};

struct Factor {
  FactorKind kind = FactorKind::Parallel;
  std::string name;  // for messages: "i", "k", "batch0", ...
  // Extent of the factor (the size of the dims mapped to it). Added by H4a for cost and checks.
  ir::Dim size = 1;
  // True when the split must be even (the product of its axes divides `size`): a reshape that
  // merges or splits dims keeps a split only on the major dim and only when it divides evenly
  // (SHARDING.md §2); propagation never assigns axes that do not divide such a factor.
  bool evenOnly = false;
  // A second extent an evenOnly split must also divide: a reshape run whose two major dims
  // differ symbolically ([B, S] -> [B*S/G, G]) shares a factor of size = the operand's major,
  // and a block of it is a block of the result's major only if the split divides that too.
  std::optional<ir::Dim> alsoDivides;
};

struct FactorMap {
  std::vector<Factor> factors;
  // operandDims[o][d] = factor index of dim d of operand o, or -1 (not mapped: that dim must be
  // whole on every device, e.g. a broadcast size-1 dim or the gathered axis of a table).
  std::vector<std::vector<int>> operandDims;
  std::vector<std::vector<int>> resultDims;
  // Values that may be partial{sum} on input and pass the partial through unchanged (linear ops:
  // add/sub of two partials, neg, mul by a non-partial operand, reshape, transpose, ...).
  std::vector<bool> operandLinear;
};
// Notes for the partitioner (H4a → H4b), per rule family (details in OpFactors.cpp):
//  - A factor mapped only on results (slice/pad/concat along their axis, one_hot's depth, the
//    results of iota/full/random/constant) is "result-only": each device computes the whole
//    operand dim and keeps its part of the result (replicated → split: take the local slice).
//  - reduce_mean and cross_entropy{mean}: the reduced factors are ReduceSum; the local op must
//    divide by the GLOBAL count (for cross_entropy with ignore_index that count is data dependent
//    and needs its own all_reduce), so the partial terms sum to the global mean.
//  - gather: the table's gathered dim is a ReduceSum factor ("vocab"): a device looks up only its
//    rows, masks the rest to zero, result partial{sum}. scatter_add mirrors it: the table/base dim
//    stays Parallel (a device scatters only the rows it owns), the index dims are ReduceSum (each
//    device scatters its own tokens → partial sum); the base is then added on one coordinate only.
//  - softmax / log_softmax / cross_entropy: the normalized axis (the class dim) is Normalized:
//    a split of it is lowered as the decomposition into max / exp / sum with all_reduces of
//    per-row statistics (partition/spmd/OpLowering.cpp), Megatron's vocab-parallel loss.

// The factor map of one op (its operand/result types must be known). Errors name the op.
StatusOr<FactorMap> opFactors(const ir::Op& op);

// The factor map of moving a tensor of type `in` to one of type `out` (a collective's operand to
// its result, a send's operand to its matching receive's result): dims of equal extent share a
// parallel factor — each device moves its own piece — and the others must be whole.
FactorMap transferFactors(const ir::TensorType& in, const ir::TensorType& out);

// Whether partition/FactorRules.def has a line for `kind` (the completeness test uses it).
bool hasFactorRule(ir::OpKind kind);

}  // namespace tessera::partition
