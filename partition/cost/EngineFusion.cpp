// The kernel costs the CPU engine's fusion groups imply (EngineFusion.h); the groups come from
// the rule the engine itself uses (passes/fusion/FusionGroups.h).
#include "partition/cost/EngineFusion.h"

#include <algorithm>
#include <map>
#include <set>

#include "ir/Module.h"
#include "passes/fusion/FusionGroups.h"
#include "passes/fusion/PadSums.h"

namespace tessera::partition::cost {

namespace {

using passes::FusionRole;

// Ops that run and store nothing of their own in the engine: views (new strides over the
// operand's buffer), leaves (recomputed inside each kernel that reads them), dead ops, and the
// pads and adds of pad-sums (Excluded: the engine stores each piece straight into its slice of
// the concatenation, so its producer's write is the only cost).
bool emitsNothing(FusionRole r) {
  return r == FusionRole::View || r == FusionRole::Leaf || r == FusionRole::Dead ||
         r == FusionRole::Excluded;
}

// The engine's groups: the pad-sums' ops join none, as in codegen/fusion/Lowering.
passes::FusionGroups engineGroups(const ir::Function& f) {
  const passes::PadSums sums = passes::findPadSums(f);
  return passes::fusionGroups(f, true, &sums.members);
}

}  // namespace

std::vector<int> engineFusionGroups(const ir::Function& f) { return engineGroups(f).group; }

StatusOr<std::vector<OpCost>> engineProgramCosts(const ir::Function& f, const SymbolValues& syms) {
  std::vector<OpCost> costs;
  costs.reserve(f.ops().size());
  for (const auto& op : f.ops()) {
    TRY_ASSIGN(OpCost c, opCost(*op, syms));
    costs.push_back(c);
  }
  const passes::FusionGroups g = engineGroups(f);
  std::set<const ir::Value*> returned(f.results().begin(), f.results().end());
  std::map<int, std::vector<int>> members;  // group -> op indices, program order
  for (int i = 0; i < f.numOps(); ++i) {
    OpCost& c = costs[static_cast<size_t>(i)];
    if (emitsNothing(g.role[static_cast<size_t>(i)])) {
      c.flops = 0;
      c.bytesRead = c.bytesWritten = 0;
      c.launchesKernel = false;
      c.fused = true;
    }
    if (g.group[static_cast<size_t>(i)] >= 0) members[g.group[static_cast<size_t>(i)]].push_back(i);
  }
  for (auto& [id, ops] : members) {
    std::set<const ir::Op*> in;
    for (int i : ops) in.insert(f.ops()[static_cast<size_t>(i)].get());
    double flops = 0, read = 0, written = 0;
    std::set<const ir::Value*> external;
    for (int i : ops) {
      const ir::Op& op = *f.ops()[static_cast<size_t>(i)];
      flops += costs[static_cast<size_t>(i)].flops;
      for (const ir::Value* v : op.operands()) {
        const ir::Op* d = v->definingOp();
        if (d && (in.count(d) || g.role[static_cast<size_t>(f.indexOf(d))] == FusionRole::Leaf)) continue;
        if (!external.insert(v).second) continue;
        TRY_ASSIGN(double b, tensorBytes(v->type(), syms, op.loc()));
        read += b;
      }
      bool usedOutside = false;
      for (int r = 0; r < op.numResults(); ++r) {
        const ir::Value* v = op.result(r);
        bool out = returned.count(v) > 0;
        for (const ir::Use& u : v->uses()) out = out || !u.user || !in.count(u.user);
        if (!out) continue;
        usedOutside = true;
        TRY_ASSIGN(double b, tensorBytes(v->type(), syms, op.loc()));
        written += b;
      }
      OpCost& c = costs[static_cast<size_t>(i)];
      c.flops = 0;
      c.bytesRead = c.bytesWritten = 0;
      c.launchesKernel = false;
      c.fused = !usedOutside;  // never materialized (Memory.h)
    }
    OpCost& last = costs[static_cast<size_t>(ops.back())];
    last.flops = flops;
    last.bytesRead = read;
    last.bytesWritten = written;
    last.launchesKernel = true;
    last.fused = false;
    last.kernelOps = static_cast<int>(ops.size());
  }
  return costs;
}

}  // namespace tessera::partition::cost
