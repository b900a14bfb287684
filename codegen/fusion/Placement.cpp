// Finding pad-sums and copy-needing reshapes, and their slots (see Placement.h).
#include "codegen/fusion/Placement.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "codegen/fusion/Lowering.h"
#include "ir/Op.h"

namespace tessera::codegen {

using ir::OpKind;

bool isGemmOp(const ir::Op& op) {
  if (op.kind() != OpKind::Matmul && op.kind() != OpKind::Dot) return false;
  ir::DType t = op.result()->type().dtype;
  return (t == ir::DType::F32 || t == ir::DType::F64) && op.operand(0)->type().dtype == t &&
         op.operand(1)->type().dtype == t;
}

namespace {

bool singleUse(const ir::Value* v) { return v->uses().size() == 1 && v->uses()[0].user; }

BufferView rowMajorView(const ir::Shape& s) {
  BufferView v;
  v.offset = ir::Dim(0);
  v.shape = s;
  v.strides = rowMajorStrides(s);
  return v;
}

// The view of a transpose's operand, given the view its result must have.
BufferView untranspose(const BufferView& result, const ir::Op& op) {
  const auto& perm = op.attrAs<std::vector<int64_t>>("perm");
  BufferView v = result;
  v.shape = op.operand(0)->type().shape;
  for (size_t i = 0; i < perm.size(); ++i) v.strides[perm[i]] = result.strides[i];
  return v;
}

class Planner {
 public:
  explicit Planner(const ir::Function& f) : f_(f) {}

  Placement run() {
    for (int i = f_.numOps(); i-- > 0;) padSum(*f_.ops()[i]);
    for (int i = 0; i < f_.numOps(); ++i) mergedHeads(*f_.ops()[i]);
    return std::move(p_);
  }

 private:
  // The slot of `v` is `view` in `root`; then its producer's operand, through reshapes and
  // transposes whose operand nothing else reads.
  void propagate(const ir::Value* v, const ir::Value* root, BufferView view) {
    while (true) {
      p_.slots[v] = Slot{root, view};
      const ir::Op* d = v->definingOp();
      if (!d || (d->kind() != OpKind::Reshape && d->kind() != OpKind::Transpose)) return;
      const ir::Value* y = d->operand(0);
      if (!singleUse(y) || p_.slots.count(y) || y->isArgument()) return;
      if (d->kind() == OpKind::Transpose) {
        view = untranspose(view, *d);
      } else {
        std::optional<BufferView> r = reshapeView(view, y->type().shape);
        if (!r) return;
        view = *r;
      }
      p_.chained.insert(y);
      v = y;
    }
  }

  // Collects the pads of an add tree rooted at `v`; false when it is not a pure pad-sum.
  bool terms(const ir::Value* v, bool root, std::vector<const ir::Op*>* pads,
             std::vector<const ir::Op*>* adds) {
    const ir::Op* d = v->definingOp();
    if (!d || (!root && !singleUse(v)) || p_.assembled.count(d)) return false;
    if (d->kind() == OpKind::Add) {
      for (const ir::Value* x : d->operands())
        if (x->type().shape != v->type().shape || x->type().dtype != v->type().dtype) return false;
      adds->push_back(d);
      return terms(d->operand(0), false, pads, adds) && terms(d->operand(1), false, pads, adds);
    }
    if (d->kind() == OpKind::Pad && d->floatAttr("value", 0.0) == 0.0 && !root) {
      pads->push_back(d);
      return true;
    }
    return false;
  }

  void padSum(const ir::Op& op) {
    if (op.kind() != OpKind::Add || p_.assembled.count(&op)) return;
    const ir::Value* sum = op.result();
    ir::DType t = sum->type().dtype;
    if (t != ir::DType::F32 && t != ir::DType::F64) return;
    std::vector<const ir::Op*> pads, adds;
    if (!terms(sum, true, &pads, &adds) || pads.size() < 2) return;
    const ir::Shape& shape = sum->type().shape;
    // One padded axis, shared by every pad; the pieces tile it exactly.
    int axis = -1;
    std::vector<std::pair<int64_t, const ir::Op*>> pieces;
    for (const ir::Op* pad : pads) {
      const auto& low = pad->attrAs<std::vector<int64_t>>("low");
      const auto& high = pad->attrAs<std::vector<int64_t>>("high");
      if (low.size() != shape.size() || high.size() != shape.size()) return;
      int a = -1;
      for (size_t d = 0; d < low.size(); ++d) {
        if (low[d] < 0 || high[d] < 0) return;
        if (low[d] == 0 && high[d] == 0) continue;
        if (a >= 0) return;
        a = static_cast<int>(d);
      }
      if (a < 0 || (axis >= 0 && a != axis)) return;
      axis = a;
      pieces.emplace_back(low[a], pad);
    }
    std::optional<int64_t> total = shape[axis].constant();
    if (!total) return;
    std::sort(pieces.begin(), pieces.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    int64_t at = 0;
    for (auto [low, pad] : pieces) {
      std::optional<int64_t> len = pad->operand(0)->type().shape[axis].constant();
      if (!len || low != at) return;
      at += *len;
    }
    if (at != *total) return;
    for (const ir::Op* a : adds) p_.assembled.insert(a);
    for (const ir::Op* pad : pads) p_.assembled.insert(pad);
    p_.sumRoots.insert(sum);
    BufferView whole = rowMajorView(shape);
    p_.slots[sum] = Slot{sum, whole};
    for (auto [low, pad] : pieces) {
      const ir::Value* x = pad->operand(0);
      BufferView part = whole;
      part.shape = x->type().shape;
      part.offset = ir::Dim(low) * whole.strides[axis];
      p_.padPieces[pad] = Slot{sum, part};
      if (p_.slots.count(x) || x->isArgument() || !singleUse(x)) continue;  // copied at the pad
      propagate(x, sum, part);
    }
  }

  // A reshape of a GEMM's transposed output that strides cannot express: the reshape's result
  // becomes a root and the GEMM writes into it.
  void mergedHeads(const ir::Op& op) {
    if (op.kind() != OpKind::Reshape || p_.slots.count(op.result())) return;
    std::vector<const ir::Op*> chain{&op};
    const ir::Value* v = op.operand(0);
    while (true) {
      if (!singleUse(v) || p_.slots.count(v) || v->isArgument()) return;
      const ir::Op* d = v->definingOp();
      if (isGemmOp(*d)) break;
      if (d->kind() != OpKind::Transpose && d->kind() != OpKind::Reshape) return;
      chain.push_back(d);
      v = d->operand(0);
    }
    // The chain forward from the GEMM's row-major output: only the last reshape must copy.
    BufferView view = rowMajorView(v->type().shape);
    for (size_t i = chain.size(); i-- > 0;) {
      const ir::Op* d = chain[i];
      if (d->kind() == OpKind::Transpose) {
        const auto& perm = d->attrAs<std::vector<int64_t>>("perm");
        std::vector<ir::Dim> st(perm.size());
        for (size_t k = 0; k < perm.size(); ++k) st[k] = view.strides[perm[k]];
        view.strides = st;
        view.shape = d->result()->type().shape;
      } else {
        std::optional<BufferView> r = reshapeView(view, d->result()->type().shape);
        if (r) {
          if (i == 0) return;  // expressible: no copy to save
          view = *r;
        } else if (i != 0) {
          return;  // an earlier reshape copies; leave the chain alone
        }
      }
    }
    propagate(op.result(), op.result(), rowMajorView(op.result()->type().shape));
  }

  const ir::Function& f_;
  Placement p_;
};

}  // namespace

Placement planPlacement(const ir::Function& f) { return Planner(f).run(); }

}  // namespace tessera::codegen
