// Finding pad-sums and copy-needing reshapes, and their slots (see Placement.h).
#include "codegen/fusion/Placement.h"

#include <optional>
#include <vector>

#include "codegen/fusion/Lowering.h"
#include "ir/Op.h"
#include "passes/fusion/PadSums.h"

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
    for (const passes::PadSum& s : passes::findPadSums(f_).sums) padSum(s);
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

  // Slots for a pad-sum (the IR rule is passes/fusion/PadSums.h): the sum's result is a root,
  // and each piece's operand is placed at its offset along the concatenated axis.
  void padSum(const passes::PadSum& s) {
    const ir::Value* sum = s.root->result();
    const ir::Shape& shape = sum->type().shape;
    for (const ir::Op* a : s.adds) p_.assembled.insert(a);
    for (const auto& piece : s.pieces) p_.assembled.insert(piece.second);
    p_.sumRoots.insert(sum);
    BufferView whole = rowMajorView(shape);
    p_.slots[sum] = Slot{sum, whole};
    for (auto [low, pad] : s.pieces) {
      const ir::Value* x = pad->operand(0);
      BufferView part = whole;
      part.shape = x->type().shape;
      part.offset = ir::Dim(low) * whole.strides[s.axis];
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
