// The work of every op of a function, with elementwise fusion applied.
//
// Why fusion lives in the cost model: a per-rank program spells a softmax backward or a
// bias-dropout-add as several elementwise ops, but no real backend runs them as separate kernels
// that round-trip every intermediate through memory (codegen/ fuses them; Megatron has
// hand-fused kernels). The rule, loop fusion as XLA does it: an elementwise (or iota/full/random/
// broadcast) op whose single result has exactly one use, by an elementwise op, a reduction, a
// softmax, a normalization or a loss, is fused into that consumer — its result is neither
// written nor read back, and it pays no launch. Everything else is materialized.
#pragma once

#include <vector>

#include "ir/Function.h"
#include "partition/cost/OpCost.h"

namespace tessera::partition::cost {

// costs[i] belongs to f.ops()[i]. Errors name the op whose sizes cannot be evaluated.
StatusOr<std::vector<OpCost>> programCosts(const ir::Function& f, const SymbolValues& syms,
                                           bool fuseElementwise = true);

// Whether `v`'s producer was fused into its consumer (v is never materialized).
bool isFusedValue(const ir::Value& v, const std::vector<OpCost>& costs);

}  // namespace tessera::partition::cost
