// Pad-sums: add(pad(x1), pad(x2), ...) trees that are concatenations in disguise.
//
// A sum of zero pads whose padded ranges tile one axis exactly (the gradient of slicing the
// fused QKV projection) computes concat(x1, x2, ...). The CPU engine builds it by destination
// passing (codegen/fusion/Placement.h): each x_i is stored into its slice of the sum's buffer and
// the pads and adds emit no code. The cost model must price them the same way
// (partition/cost/EngineFusion.h), so the recognition — which adds and pads form such a sum, over
// the IR alone — lives here, next to the fusion rule (FusionGroups.h), and both layers use it.
// Where each piece goes in memory (buffer views, propagation into producers) is codegen's and
// stays in Placement.
//
// The rule: an add whose operands and result share shape and dtype (f32 or f64) and whose add
// tree (inner adds single-use, each read only by the tree) bottoms out in >= 2 pads of value 0
// (each single-use), every pad padding the same single axis by non-negative amounts, the pieces
// covering [0, size) of a static axis without gap or overlap. Adds are examined from the last op
// backwards, so the outermost add of a tree roots it; an op belongs to at most one sum.
#pragma once

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "ir/Function.h"

namespace tessera::passes {

struct PadSum {
  const ir::Op* root = nullptr;  // the outermost add: its result is the concatenation
  int axis = -1;                 // the concatenated axis
  std::vector<const ir::Op*> adds;  // the add tree, root first
  // The pads with the offset (their `low` on `axis`) where their operand starts, by offset.
  std::vector<std::pair<int64_t, const ir::Op*>> pieces;
};

struct PadSums {
  std::vector<PadSum> sums;         // in the order found: roots from the last op backwards
  std::set<const ir::Op*> members;  // every add and pad of every sum
};

PadSums findPadSums(const ir::Function& f);

}  // namespace tessera::passes
