// Fusion decisions for one function: which ops become views, which are inlined leaves, which
// join a fused kernel (and which one), and which run as GEMMs or library kernels.
//
// The grouping rule itself (which ops are views, leaves, dead, and which fusible ops form one
// kernel) is passes/fusion/FusionGroups.h, shared with the cost model's pricing of CPU ranks
// (partition/cost/EngineFusion.h). What this file adds is codegen's own knowledge: the ops
// destination passing assembles (Placement.h) join no group, matmul/dot over f32/f64 run as
// GEMMs and everything else as library kernels, and where each group's kernel runs.
#pragma once

#include <map>
#include <set>
#include <vector>

#include "ir/Function.h"
#include "passes/fusion/FusionGroups.h"

namespace tessera::codegen {

// Assembled: a pad or add of a pad-sum that destination passing turns into a concatenation
// (Placement.h); it emits no code of its own.
// Dead: nothing live reads its results and it has no side effect; it emits no code.
enum class OpClass { View, Leaf, Fused, Gemm, Library, Collective, Assembled, Dead };

using FusionGroup = passes::FusionGroup;

struct FusionPlan {
  std::vector<OpClass> opClass;  // per op index
  std::vector<int> opGroup;      // per op index: the final group id, or -1
  std::vector<FusionGroup> groups;
  // The group whose kernel runs after op index i (its last member), or -1.
  std::vector<int> groupEndingAt;

  bool isRowLevel(const ir::Value* v) const;  // a member value computed once per row
  int groupOf(const ir::Op* op) const;        // -1 if not fused
};

// Options: `fuse = false` puts every fusible op in a group of its own (for tests).
// `assembled` ops (Placement.h) are classed Assembled and join no group.
FusionPlan planFusion(const ir::Function& f, bool fuse = true,
                      const std::set<const ir::Op*>* assembled = nullptr);

// The shared rule's helpers (passes/fusion/FusionGroups.h), under their engine names.
using passes::isFusibleOp;
using passes::iterationSpace;
using passes::liveOps;

}  // namespace tessera::codegen
