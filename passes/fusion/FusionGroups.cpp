// Greedy fusion grouping in program order (see FusionGroups.h). Moved from
// codegen/fusion/FusionPlan.cpp in session 13 so that the engine and the cost model share it.
#include "passes/fusion/FusionGroups.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "ir/Module.h"

namespace tessera::passes {

using ir::OpKind;

namespace {

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

// Whether `axis` names the last axis of a rank-`rank` operand.
bool isLastAxis(int64_t axis, int rank) { return rank > 0 && (axis == rank - 1 || axis == -1); }

bool isLeafSource(const ir::Op& op) {
  switch (op.kind()) {
    case OpKind::Full: case OpKind::Iota: return true;
    case OpKind::Constant: return op.result()->type().rank() == 0;
    default: return false;
  }
}

}  // namespace

bool isFusibleElementwise(OpKind k) {
  switch (k) {
    case OpKind::Neg: case OpKind::Abs: case OpKind::Exp: case OpKind::Log: case OpKind::Sqrt:
    case OpKind::Rsqrt: case OpKind::Tanh: case OpKind::Sigmoid: case OpKind::Relu:
    case OpKind::Gelu: case OpKind::Silu: case OpKind::Erf: case OpKind::Sin: case OpKind::Cos:
    case OpKind::Add: case OpKind::Sub: case OpKind::Mul: case OpKind::Div: case OpKind::Pow:
    case OpKind::Max: case OpKind::Min: case OpKind::Compare: case OpKind::Select:
    case OpKind::Cast:
      return true;
    default: return false;
  }
}

bool isFusibleOp(const ir::Op& op) {
  if (!allKernelDTypes(op)) return false;
  OpKind k = op.kind();
  if (isFusibleElementwise(k)) {
    // Integer division (divide-by-zero is an error the reference reports) and integer pow
    // (computed in double there) stay with the reference semantics.
    if ((k == OpKind::Div || k == OpKind::Pow) && ir::isInteger(op.result()->type().dtype))
      return false;
    return true;
  }
  int rank = op.numOperands() ? op.operand(0)->type().rank() : 0;
  switch (k) {
    case OpKind::OneHot: return true;
    case OpKind::ReduceSum: case OpKind::ReduceMax: case OpKind::ReduceMean: {
      const auto& axes = op.attrAs<std::vector<int64_t>>("axes");
      return axes.size() == 1 && isLastAxis(axes[0], rank);
    }
    case OpKind::Softmax: case OpKind::LogSoftmax:
      return isLastAxis(op.intAttr("axis"), rank);
    case OpKind::LayerNorm: case OpKind::RmsNorm:
      return !op.hasAttr("axis") || isLastAxis(op.intAttr("axis"), rank);
    default: return false;
  }
}

void iterationSpace(const ir::Op& op, std::vector<ir::Dim>* outer, ir::Dim* cols) {
  bool overOperand = false;
  switch (op.kind()) {
    case OpKind::ReduceSum: case OpKind::ReduceMax: case OpKind::ReduceMean:
    case OpKind::Softmax: case OpKind::LogSoftmax: case OpKind::LayerNorm: case OpKind::RmsNorm:
      overOperand = true;
      break;
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

std::vector<bool> liveOps(const ir::Function& f) {
  const int n = f.numOps();
  std::vector<bool> live(n, false);
  std::unordered_map<const ir::Op*, int> index;
  for (int i = 0; i < n; ++i) index[f.ops()[i].get()] = i;
  // Users come after their operands' producers, so one backward sweep reaches the fixed point.
  for (int i = n - 1; i >= 0; --i) {
    const ir::Op& op = *f.ops()[i];
    bool l = op.info().hasSideEffect();
    for (int r = 0; r < op.numResults() && !l; ++r)
      for (const ir::Use& u : op.result(r)->uses())
        if (!u.user || live[index.at(u.user)]) {
          l = true;
          break;
        }
    live[i] = l;
  }
  return live;
}

FusionGroups fusionGroups(const ir::Function& f, bool fuse, const std::set<const ir::Op*>* excluded) {
  FusionGroups out;
  const int n = f.numOps();
  out.role.assign(n, FusionRole::Other);
  out.group.assign(n, -1);
  std::vector<int> parent;  // union-find over groups for merges
  auto find = [&](int g) {
    while (parent[g] != g) g = parent[g];
    return g;
  };
  auto groupOfValue = [&](const ir::Value* v) -> int {
    const ir::Op* d = v->definingOp();
    if (!d) return -1;
    int g = out.group[f.indexOf(d)];
    return g < 0 ? -1 : find(g);
  };
  auto isLeafValue = [&](const ir::Value* v) {
    const ir::Op* d = v->definingOp();
    return d && out.role[f.indexOf(d)] == FusionRole::Leaf;
  };

  const std::vector<bool> live = liveOps(f);
  for (int i = 0; i < n; ++i) {
    const ir::Op& op = *f.ops()[i];
    OpKind k = op.kind();
    FusionRole role;
    if (!live[i]) role = FusionRole::Dead;
    else if (excluded && excluded->count(&op)) role = FusionRole::Excluded;
    else if (op.info().isCollective() || k == OpKind::AxisIndex) role = FusionRole::Collective;
    else if (k == OpKind::Reshape || k == OpKind::Transpose || k == OpKind::BroadcastInDim ||
             k == OpKind::Slice)
      role = FusionRole::View;
    else if (isLeafSource(op) && allKernelDTypes(op)) role = FusionRole::Leaf;
    else if (isFusibleOp(op)) {
      bool allLeaves = isFusibleElementwise(k) && op.numOperands() > 0;
      for (const ir::Value* v : op.operands()) allLeaves = allLeaves && isLeafValue(v);
      role = allLeaves ? FusionRole::Leaf : FusionRole::Fused;
    } else role = FusionRole::Other;
    out.role[i] = role;
    if (k == OpKind::Send || k == OpKind::Recv) {
      // A send or receive seals every open group. A group's kernel runs at its last member's
      // position, so a group spanning one would hold its inputs across it and across everything
      // scheduled in between: a pipeline's per-micro-batch gradient sums (one add per
      // micro-batch, micro-batches separated by sends and receives) would become one kernel at
      // the last micro-batch and keep every micro-batch's gradient live to the end of the step.
      // Only point-to-point ops. Sealing at every collective is legal too (session 14: it split
      // AdamW's update kernel, which exposed a buffer-plan bug, fixed in
      // codegen/memory/BufferPlan.cpp: readAfterStore — not an async-schedule one), but it rounds
      // more intermediates to f32 between kernels and its effect on peak memory is unmeasured.
      for (FusionGroup& g : out.groups) g.sealed = true;
    }

    int joined = -1;
    if (role == FusionRole::Fused) {
      std::vector<ir::Dim> outer;
      ir::Dim cols;
      iterationSpace(op, &outer, &cols);
      ir::Shape full = outer, rowShape = outer;
      full.push_back(cols);
      rowShape.push_back(ir::Dim(1));
      const ir::Shape& rs = op.result()->type().shape;
      bool elementwiseLike = isFusibleElementwise(k);
      // A group is a candidate when every operand it produces is read in a form a member can
      // read in-kernel: a full element of the space, or a per-row value ([rows..., 1]).
      bool resultOk = k == OpKind::OneHot || !elementwiseLike || rs == full || rs == rowShape;
      std::map<int, bool> ok;
      if (fuse && resultOk)
        for (const ir::Value* v : op.operands()) {
          int g = groupOfValue(v);
          if (g < 0) continue;
          const FusionGroup& grp = out.groups[g];
          bool sameRows = grp.outer == outer;
          bool sameSpace = sameRows && grp.cols == cols;
          // A per-row op ([rows..., 1]) of a wider group computes once per row inside it.
          bool perRow = elementwiseLike && sameRows && rs == rowShape;
          const ir::Shape& vs = v->type().shape;
          ir::Shape gFull = grp.outer, gRow = grp.outer;
          gFull.push_back(grp.cols);
          gRow.push_back(ir::Dim(1));
          bool readable = k != OpKind::OneHot && (vs == gFull || (elementwiseLike && vs == gRow));
          bool good = !grp.sealed && (sameSpace || perRow) && readable;
          auto it = ok.find(g);
          ok[g] = (it == ok.end() ? true : it->second) && good;
        }
      std::set<int> candidates;
      for (auto [g, good] : ok)
        if (good) candidates.insert(g);
      if (candidates.empty()) {
        joined = static_cast<int>(out.groups.size());
        FusionGroup g;
        g.outer = outer;
        g.cols = cols;
        out.groups.push_back(std::move(g));
        parent.push_back(joined);
      } else {
        joined = *candidates.rbegin();
        for (int g : candidates) {
          if (g == joined) continue;
          // Merge g into joined: both open, so no op outside reads either; order by program.
          FusionGroup& from = out.groups[g];
          FusionGroup& to = out.groups[joined];
          to.ops.insert(to.ops.end(), from.ops.begin(), from.ops.end());
          from.ops.clear();
          from.mergedInto = joined;
          parent[g] = joined;
        }
      }
      out.groups[joined].ops.push_back(&op);
      out.group[i] = joined;
    }
    // Every group this op reads from and did not join is sealed (a dead op reads nothing).
    if (role == FusionRole::Dead) continue;
    for (const ir::Value* v : op.operands()) {
      int g = groupOfValue(v);
      if (g >= 0 && g != joined) out.groups[g].sealed = true;
    }
  }
  // Final group ids and member order.
  for (int i = 0; i < n; ++i)
    if (out.group[i] >= 0) out.group[i] = find(out.group[i]);
  for (FusionGroup& g : out.groups) {
    if (g.mergedInto >= 0) continue;
    std::sort(g.ops.begin(), g.ops.end(),
              [&](const ir::Op* a, const ir::Op* b) { return f.indexOf(a) < f.indexOf(b); });
  }
  return out;
}

}  // namespace tessera::passes
