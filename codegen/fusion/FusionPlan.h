// Fusion decisions for one function: which ops become views, which are inlined leaves, which
// join a fused kernel (and which one), and which run as GEMMs or library kernels.
//
// A group is a set of elementwise / last-axis-reduction / normalization ops over one iteration
// space (rows = all dims but the last, cols = the last dim). Ops join greedily in program order:
// an op joins the newest open group of one of its operands when the spaces agree (an op whose
// result is [rows..., 1] joins as a per-row computation), merging every other open group of the
// same space that it reads. A group closes ("seals") as soon as an op outside it reads one of its
// values: later ops then cannot join it, which keeps the group graph acyclic, so a group's kernel
// can run at the position of its last member. Leaves (full, scalar constants, iota, and pure
// elementwise ops of leaves) are recomputed inside each kernel that reads them instead of being
// stored.
//
// Dead ops (no side effect, no result reaching the function's results or a side effect) are
// classed Dead and emit nothing: a step built by inlining (a pipeline stage's backward re-inlines
// its forward) can carry computations nothing reads, and a fused group made only of those would
// be a kernel without outputs.
#pragma once

#include <map>
#include <set>
#include <vector>

#include "ir/Function.h"

namespace tessera::codegen {

// Assembled: a pad or add of a pad-sum that destination passing turns into a concatenation
// (Placement.h); it emits no code of its own.
// Dead: nothing live reads its results and it has no side effect; it emits no code.
enum class OpClass { View, Leaf, Fused, Gemm, Library, Collective, Assembled, Dead };

struct FusionGroup {
  std::vector<ir::Dim> outer;  // the row dims
  ir::Dim cols;
  std::vector<const ir::Op*> ops;  // members, in program order
  bool sealed = false;
  int mergedInto = -1;  // >= 0 when this group was merged into another
};

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

// Per op index of `f`: whether the op must run — it has a side effect (collectives, send/recv),
// or one of its results is a function result or an operand of a live op.
std::vector<bool> liveOps(const ir::Function& f);

// Whether `op` can be computed inside a fused kernel (the dtypes a kernel supports, the axis
// forms the kernel reductions cover).
bool isFusibleOp(const ir::Op& op);
// The iteration space an op runs over when fused: result dims for elementwise ops, operand dims
// for reductions and normalizations.
void iterationSpace(const ir::Op& op, std::vector<ir::Dim>* outer, ir::Dim* cols);

}  // namespace tessera::codegen
