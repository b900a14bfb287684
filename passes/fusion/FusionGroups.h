// The CPU engine's fusion rule over the IR alone: which ops are views, which are leaves recomputed
// inside kernels, which are dead, and which fusible ops group into one kernel.
//
// Why here: the engine (codegen/fusion/FusionPlan.h) lowers each group to one loop nest, and the
// cost model (partition/cost/EngineFusion.h) prices a CPU rank by the same groups. Both layers
// sit above passes/, so the one rule lives here and neither can drift from the other (session 12
// had a restated copy in partition/). The ops destination passing assembles into
// concatenations are recognized by PadSums.h; callers pass them in as `excluded` (the engine and
// the cost model both do). What only codegen knows (GEMM vs library kernels, buffer views) stays
// in codegen: everything that is neither view, leaf, fused, dead nor excluded is `Other`.
//
// A group is a set of elementwise / last-axis-reduction / normalization ops over one iteration
// space (rows = all dims but the last, cols = the last dim). Ops join greedily in program order:
// an op joins the newest open group of one of its operands when the spaces agree (an op whose
// result is [rows..., 1] joins as a per-row computation), merging every other open group of the
// same space that it reads. A group closes ("seals") as soon as an op outside it reads one of its
// values: later ops then cannot join it, which keeps the group graph acyclic, so a group's kernel
// can run at the position of its last member. Every send and recv seals all open groups, so no
// kernel holds its inputs across one (a pipeline's per-micro-batch gradient sums stay one add per
// micro-batch instead of one kernel at the end of the step). Leaves (full, scalar constants, iota,
// and pure elementwise ops of leaves) are recomputed inside each kernel that reads them instead of
// being stored. Dead ops (no side effect, no result reaching the function's results or a side
// effect) emit nothing and read nothing.
#pragma once

#include <set>
#include <vector>

#include "ir/Function.h"

namespace tessera::passes {

enum class FusionRole { View, Leaf, Fused, Collective, Dead, Excluded, Other };

struct FusionGroup {
  std::vector<ir::Dim> outer;  // the row dims
  ir::Dim cols;
  std::vector<const ir::Op*> ops;  // members, in program order
  bool sealed = false;
  int mergedInto = -1;  // >= 0 when this group was merged into another
};

struct FusionGroups {
  std::vector<FusionRole> role;     // per op index
  std::vector<int> group;           // per op index: the final group id, or -1
  std::vector<FusionGroup> groups;  // merged-away groups are empty with mergedInto >= 0
};

// `fuse = false` puts every fusible op in a group of its own (for tests). `excluded` ops (the
// engine's assembled pad-sums) join no group and are classed Excluded.
FusionGroups fusionGroups(const ir::Function& f, bool fuse = true,
                          const std::set<const ir::Op*>* excluded = nullptr);

// Per op index of `f`: whether the op must run — it has a side effect (collectives, send/recv),
// or one of its results is a function result or an operand of a live op.
std::vector<bool> liveOps(const ir::Function& f);

// Whether `op` can be computed inside a fused kernel (the dtypes a kernel supports, the axis
// forms the kernel reductions cover).
bool isFusibleOp(const ir::Op& op);
// Whether `op` is one of the elementwise ops a kernel computes per element.
bool isFusibleElementwise(ir::OpKind k);
// The iteration space an op runs over when fused: result dims for elementwise ops, operand dims
// for reductions and normalizations.
void iterationSpace(const ir::Op& op, std::vector<ir::Dim>* outer, ir::Dim* cols);

}  // namespace tessera::passes
