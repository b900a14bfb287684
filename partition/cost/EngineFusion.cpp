// The CPU engine's fusion groups restated over the IR, and the kernel costs they imply
// (EngineFusion.h). The grouping follows codegen/fusion/FusionPlan.cpp rule for rule.
#include "partition/cost/EngineFusion.h"

#include <algorithm>
#include <map>
#include <set>

#include "ir/Module.h"

namespace tessera::partition::cost {

namespace {

using ir::OpKind;

enum class Cls { View, Leaf, Fused, Other };

bool kernelDType(ir::DType t) {
  return t == ir::DType::F32 || t == ir::DType::F64 || t == ir::DType::I32 ||
         t == ir::DType::I64 || t == ir::DType::Bool;
}

bool allKernelDTypes(const ir::Op& op) {
  for (const ir::Value* v : op.operands())
    if (!kernelDType(v->type().dtype)) return false;
  for (int i = 0; i < op.numResults(); ++i)
    if (!kernelDType(op.result(i)->type().dtype)) return false;
  return true;
}

bool isLastAxis(int64_t axis, int rank) { return rank > 0 && (axis == rank - 1 || axis == -1); }

bool isElementwise(OpKind k) {
  return costCategory(k) == CostCategory::Elementwise;
}

bool isLeafSource(const ir::Op& op) {
  switch (op.kind()) {
    case OpKind::Full: case OpKind::Iota: return true;
    case OpKind::Constant: return op.result()->type().rank() == 0;
    default: return false;
  }
}

bool isFusible(const ir::Op& op) {
  if (!allKernelDTypes(op)) return false;
  OpKind k = op.kind();
  if (isElementwise(k))
    return !((k == OpKind::Div || k == OpKind::Pow) && ir::isInteger(op.result()->type().dtype));
  const int rank = op.numOperands() ? op.operand(0)->type().rank() : 0;
  switch (k) {
    case OpKind::OneHot: return true;
    case OpKind::ReduceSum: case OpKind::ReduceMax: case OpKind::ReduceMean: {
      const auto& axes = op.attrAs<std::vector<int64_t>>("axes");
      return axes.size() == 1 && isLastAxis(axes[0], rank);
    }
    case OpKind::Softmax: case OpKind::LogSoftmax: return isLastAxis(op.intAttr("axis"), rank);
    case OpKind::LayerNorm: case OpKind::RmsNorm:
      return !op.hasAttr("axis") || isLastAxis(op.intAttr("axis"), rank);
    default: return false;
  }
}

void space(const ir::Op& op, ir::Shape* outer, ir::Dim* cols) {
  bool overOperand = false;
  switch (op.kind()) {
    case OpKind::ReduceSum: case OpKind::ReduceMax: case OpKind::ReduceMean: case OpKind::Softmax:
    case OpKind::LogSoftmax: case OpKind::LayerNorm: case OpKind::RmsNorm: overOperand = true; break;
    default: break;
  }
  const ir::Shape& s = overOperand ? op.operand(0)->type().shape : op.result()->type().shape;
  if (s.empty()) {
    outer->clear();
    *cols = ir::Dim(1);
    return;
  }
  outer->assign(s.begin(), s.end() - 1);
  *cols = s.back();
}

struct Grouping {
  std::vector<Cls> cls;
  std::vector<int> group;  // final group id per op, -1 if none
};

Grouping groupOps(const ir::Function& f) {
  const int n = f.numOps();
  Grouping out;
  out.cls.assign(static_cast<size_t>(n), Cls::Other);
  out.group.assign(static_cast<size_t>(n), -1);
  struct G { ir::Shape outer; ir::Dim cols; bool sealed = false; };
  std::vector<G> groups;
  std::vector<int> parent;
  auto find = [&](int g) {
    while (parent[static_cast<size_t>(g)] != g) g = parent[static_cast<size_t>(g)];
    return g;
  };
  auto groupOfValue = [&](const ir::Value* v) -> int {
    const ir::Op* d = v->definingOp();
    if (!d) return -1;
    const int g = out.group[static_cast<size_t>(f.indexOf(d))];
    return g < 0 ? -1 : find(g);
  };
  auto isLeafValue = [&](const ir::Value* v) {
    const ir::Op* d = v->definingOp();
    return d && out.cls[static_cast<size_t>(f.indexOf(d))] == Cls::Leaf;
  };
  for (int i = 0; i < n; ++i) {
    const ir::Op& op = *f.ops()[static_cast<size_t>(i)];
    const OpKind k = op.kind();
    Cls c = Cls::Other;
    if (op.info().isCollective() || k == OpKind::AxisIndex) c = Cls::Other;
    else if (k == OpKind::Reshape || k == OpKind::Transpose || k == OpKind::BroadcastInDim || k == OpKind::Slice)
      c = Cls::View;
    else if (isLeafSource(op) && allKernelDTypes(op)) c = Cls::Leaf;
    else if (isFusible(op)) {
      bool allLeaves = isElementwise(k) && op.numOperands() > 0;
      for (const ir::Value* v : op.operands()) allLeaves = allLeaves && isLeafValue(v);
      c = allLeaves ? Cls::Leaf : Cls::Fused;
    }
    out.cls[static_cast<size_t>(i)] = c;
    int joined = -1;
    if (c == Cls::Fused) {
      ir::Shape outer;
      ir::Dim cols;
      space(op, &outer, &cols);
      ir::Shape full = outer, rowShape = outer;
      full.push_back(cols);
      rowShape.push_back(ir::Dim(1));
      const ir::Shape& rs = op.result()->type().shape;
      const bool ew = isElementwise(k);
      const bool resultOk = k == OpKind::OneHot || !ew || rs == full || rs == rowShape;
      std::map<int, bool> ok;
      if (resultOk)
        for (const ir::Value* v : op.operands()) {
          const int g = groupOfValue(v);
          if (g < 0) continue;
          const G& grp = groups[static_cast<size_t>(g)];
          const bool sameRows = grp.outer == outer;
          const bool sameSpace = sameRows && grp.cols == cols;
          const bool perRow = ew && sameRows && rs == rowShape;
          ir::Shape gFull = grp.outer, gRow = grp.outer;
          gFull.push_back(grp.cols);
          gRow.push_back(ir::Dim(1));
          const ir::Shape& vs = v->type().shape;
          const bool readable = k != OpKind::OneHot && (vs == gFull || (ew && vs == gRow));
          const bool good = !grp.sealed && (sameSpace || perRow) && readable;
          auto it = ok.find(g);
          ok[g] = (it == ok.end() ? true : it->second) && good;
        }
      std::set<int> cand;
      for (auto [g, good] : ok)
        if (good) cand.insert(g);
      if (cand.empty()) {
        joined = static_cast<int>(groups.size());
        groups.push_back({outer, cols, false});
        parent.push_back(joined);
      } else {
        joined = *cand.rbegin();
        for (int g : cand)
          if (g != joined) parent[static_cast<size_t>(g)] = joined;
      }
      out.group[static_cast<size_t>(i)] = joined;
    }
    for (const ir::Value* v : op.operands()) {
      const int g = groupOfValue(v);
      if (g >= 0 && g != joined) groups[static_cast<size_t>(g)].sealed = true;
    }
  }
  for (int& g : out.group)
    if (g >= 0) g = find(g);
  return out;
}

}  // namespace

std::vector<int> engineFusionGroups(const ir::Function& f) { return groupOps(f).group; }

StatusOr<std::vector<OpCost>> engineProgramCosts(const ir::Function& f, const SymbolValues& syms) {
  std::vector<OpCost> costs;
  costs.reserve(f.ops().size());
  for (const auto& op : f.ops()) {
    TRY_ASSIGN(OpCost c, opCost(*op, syms));
    costs.push_back(c);
  }
  const Grouping g = groupOps(f);
  std::set<const ir::Value*> returned(f.results().begin(), f.results().end());
  std::map<int, std::vector<int>> members;  // group -> op indices, program order
  for (int i = 0; i < f.numOps(); ++i) {
    OpCost& c = costs[static_cast<size_t>(i)];
    const Cls cls = g.cls[static_cast<size_t>(i)];
    if (cls == Cls::View || cls == Cls::Leaf) {
      // A view is new strides over its operand's buffer; a leaf is recomputed inside each kernel
      // that reads it. Neither runs nor stores anything of its own.
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
        if (d && (in.count(d) || g.cls[static_cast<size_t>(f.indexOf(d))] == Cls::Leaf)) continue;
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
