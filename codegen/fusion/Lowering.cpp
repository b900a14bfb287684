// The lowering driver (see Lowering.h): walks the ops in program order with the fusion plan,
// tracking for every IR value the buffer view that holds it.
#include "codegen/fusion/Lowering.h"

#include <cassert>
#include <map>
#include <optional>
#include <set>

#include "codegen/fusion/FusionPlan.h"
#include "codegen/fusion/GemmLowering.h"
#include "codegen/fusion/KernelEmitter.h"
#include "codegen/fusion/Placement.h"
#include "ir/Op.h"

namespace tessera::codegen {

using ir::OpKind;

namespace {

bool isOne(const ir::Dim& d) { return d == ir::Dim(1); }

class Lowerer : public LoweringContext {
 public:
  Lowerer(const ir::Function& f, const LoweringOptions& o) : f_(f), o_(o) {
    placement_ = planPlacement(f);
    plan_ = planFusion(f, o.fuse, &placement_.assembled);
    exe_.function = &f;
  }

  StatusOr<Executable> run() {
    for (int a = 0; a < f_.numArguments(); ++a) {
      const ir::Value* v = f_.argument(a);
      MemCategory c = o_.parameters.count(v->name())       ? MemCategory::Parameter
                      : o_.optimizerState.count(v->name()) ? MemCategory::OptimizerState
                                                           : MemCategory::Input;
      BufferView view = newBuffer(v->name(), v->type().dtype, v->type().shape, c);
      exe_.buffers[view.buffer].argument = a;
      exe_.argumentBuffers.push_back(view.buffer);
      views_[v] = view;
    }
    for (int i = 0; i < f_.numOps(); ++i) {
      const ir::Op& op = *f_.ops()[i];
      switch (plan_.opClass[i]) {
        case OpClass::View: placedView(op); break;
        case OpClass::Leaf: break;
        case OpClass::Fused:
          if (plan_.groupEndingAt[i] >= 0) emitGroup(plan_.groupEndingAt[i]);
          break;
        case OpClass::Gemm:
          if (!lowerGemm(op, *this)) library(op, ThunkKind::Library);
          settle(op.result());
          break;
        case OpClass::Library:
          if (!((op.kind() == OpKind::Pad || op.kind() == OpKind::Concat) && padOrConcat(op)))
            library(op, ThunkKind::Library);
          for (int r = 0; r < op.numResults(); ++r) settle(op.result(r));
          break;
        case OpClass::Collective:
          library(op, ThunkKind::Collective);
          for (int r = 0; r < op.numResults(); ++r) settle(op.result(r));
          break;
        case OpClass::Assembled: assembled(op); break;
        case OpClass::Dead: break;  // nothing live reads it (FusionPlan.h)
      }
    }
    std::vector<bool> claimed(exe_.buffers.size(), false);
    for (size_t r = 0; r < f_.results().size(); ++r) {
      const ir::Value* v = f_.results()[r];
      BufferView view = viewOf(v);
      const BufferInfo& b = exe_.buffers[view.buffer];
      bool whole = view.offset == ir::Dim(0) && isContiguous(view) &&
                   b.elements == v->type().numElements() && b.argument < 0 &&
                   !claimed[view.buffer];
      if (!whole)
        view = copy(view, v->type().dtype, v->name().empty() ? "result" : v->name(),
                    b.category == MemCategory::Input ? MemCategory::Activation : b.category);
      claimed[view.buffer] = true;
      exe_.resultBuffers.push_back(view.buffer);
    }
    return std::move(exe_);
  }

  // ---- LoweringContext ----
  Executable& exe() override { return exe_; }
  BufferView viewOf(const ir::Value* v) override {
    auto it = views_.find(v);
    if (it != views_.end()) return it->second;
    // A leaf read by something that is not a kernel: compute it into a buffer of its own.
    assert(isLeaf(v) && "value used before it was lowered");
    const ir::Shape& s = v->type().shape;
    std::vector<ir::Dim> outer = s;
    ir::Dim cols(1);
    if (!s.empty()) {
      outer.pop_back();
      cols = s.back();
    }
    KernelEmitter e("leaf_" + std::to_string(exe_.kernels.size()), outer, cols,
                    [this](const ir::Value* x) { return viewOf(x); },
                    [this](const ir::Value* x) { return isLeaf(x); });
    int instr = e.value(v, e.spaceMap(s));
    BufferView dst = newBuffer(valueName(v), v->type().dtype, s, MemCategory::Workspace);
    e.store(instr, dst, v->type().dtype, e.spaceMap(s), valueName(v));
    exe_.thunks.push_back(e.finish(&exe_.kernels, "leaf " + std::string(v->definingOp()->mnemonic()),
                                   v->definingOp()->loc()));
    views_[v] = dst;
    return dst;
  }
  void setView(const ir::Value* v, BufferView view) override { views_[v] = std::move(view); }
  std::optional<BufferView> destination(const ir::Value* v) override { return slotView(v); }
  BufferView newBuffer(const std::string& name, ir::DType t, const ir::Shape& shape,
                       MemCategory c) override {
    BufferInfo b;
    b.name = name;
    b.dtype = t;
    b.elements = ir::Dim(1);
    for (const ir::Dim& d : shape) b.elements = b.elements * d;
    b.category = c;
    exe_.buffers.push_back(b);
    BufferView v;
    v.buffer = static_cast<int>(exe_.buffers.size()) - 1;
    v.offset = ir::Dim(0);
    v.shape = shape;
    v.strides = rowMajorStrides(shape);
    return v;
  }
  BufferView copy(const BufferView& src, ir::DType t, const std::string& name,
                  MemCategory c) override {
    BufferView dst = newBuffer(name, t, src.shape, c);
    copyInto(src, dst, t, "copy " + name, Location{});
    return dst;
  }
  // A kernel writing `src` into `dst` (same shape).
  void copyInto(const BufferView& src, const BufferView& dst, ir::DType t, const std::string& label,
                const Location& loc) {
    std::vector<ir::Dim> outer = src.shape;
    ir::Dim cols(1);
    if (!outer.empty()) {
      cols = outer.back();
      outer.pop_back();
    }
    KernelEmitter e("copy_" + std::to_string(exe_.kernels.size()), outer, cols,
                    [](const ir::Value*) -> BufferView { assert(false); return {}; },
                    [](const ir::Value*) { return false; });
    std::vector<int> map = e.spaceMap(src.shape);
    int instr = e.load(src, t, map);
    e.store(instr, dst, t, map, "out");
    exe_.thunks.push_back(e.finish(&exe_.kernels, label, loc));
  }
  // A kernel setting every element of `dst` to `value`.
  void fill(const BufferView& dst, ir::DType t, double value, const std::string& label,
            const Location& loc) {
    std::vector<ir::Dim> outer = dst.shape;
    ir::Dim cols(1);
    if (!outer.empty()) {
      cols = outer.back();
      outer.pop_back();
    }
    KernelEmitter e("fill_" + std::to_string(exe_.kernels.size()), outer, cols,
                    [](const ir::Value*) -> BufferView { assert(false); return {}; },
                    [](const ir::Value*) { return false; });
    std::vector<int> map = e.spaceMap(dst.shape);
    Instr c;
    c.kind = InstrKind::Const;
    c.type = scalarTypeOf(t);
    c.constant = ir::roundToDType(value, t);
    int instr = e.addInstr(c);
    e.store(instr, dst, t, map, "out");
    exe_.thunks.push_back(e.finish(&exe_.kernels, label, loc));
  }
  // pad and concat: a fill and copies into views of the result; false when not applicable.
  bool padOrConcat(const ir::Op& op) {
    const ir::Value* res = op.result();
    ir::DType t = res->type().dtype;
    if (t == ir::DType::BF16 || t == ir::DType::F16) return false;
    const ir::Shape& rs = res->type().shape;
    if (op.kind() == OpKind::Pad) {
      const auto& low = op.attrAs<std::vector<int64_t>>("low");
      const auto& high = op.attrAs<std::vector<int64_t>>("high");
      for (size_t d = 0; d < low.size(); ++d)
        if (low[d] < 0 || high[d] < 0) return false;
      BufferView in = viewOf(op.operand(0));
      BufferView out = newBuffer(valueName(res), t, rs, categoryOf(res));
      fill(out, t, op.floatAttr("value", 0.0), "pad fill", op.loc());
      BufferView inner = out;
      inner.shape = in.shape;
      for (size_t d = 0; d < low.size(); ++d) inner.offset = inner.offset + ir::Dim(low[d]) * out.strides[d];
      copyInto(in, inner, t, "pad copy", op.loc());
      views_[res] = out;
      return true;
    }
    int64_t axis = op.intAttr("axis");
    if (axis < 0) axis += static_cast<int64_t>(rs.size());
    BufferView out = newBuffer(valueName(res), t, rs, categoryOf(res));
    ir::Dim at(0);
    for (const ir::Value* v : op.operands()) {
      BufferView in = viewOf(v);
      BufferView part = out;
      part.shape = in.shape;
      part.offset = at * out.strides[axis];
      copyInto(in, part, t, "concat copy", op.loc());
      at = at + in.shape[axis];
    }
    views_[res] = out;
    return true;
  }
  BufferView contiguous(const ir::Value* v, MemCategory c) override {
    BufferView view = viewOf(v);
    if (!isContiguous(view)) return copy(view, v->type().dtype, valueName(v) + ".contig", c);
    view.strides = rowMajorStrides(view.shape);  // size-1 dims may have had any stride
    return view;
  }
  std::string valueName(const ir::Value* v) override {
    if (!v->name().empty()) return v->name();
    auto [it, inserted] = names_.emplace(v, "");
    if (inserted) it->second = "%" + std::to_string(names_.size() - 1);
    return it->second;
  }
  MemCategory categoryOf(const ir::Value* v) override {
    return v->name().rfind("grad_", 0) == 0 ? MemCategory::Gradient : MemCategory::Activation;
  }

 private:
  bool isLeaf(const ir::Value* v) const {
    const ir::Op* d = v->definingOp();
    return d && plan_.opClass[f_.indexOf(d)] == OpClass::Leaf;
  }

  static bool isContiguous(const BufferView& v) {
    std::vector<ir::Dim> rm = rowMajorStrides(v.shape);
    for (size_t d = 0; d < v.shape.size(); ++d)
      if (!isOne(v.shape[d]) && v.strides[d] != rm[d]) return false;
    return true;
  }

  // ---- destination passing (Placement.h) ----

  // The view of `v`'s slot in its root's buffer (created on first use), if it has one.
  std::optional<BufferView> slotView(const ir::Value* v) {
    auto it = placement_.slots.find(v);
    if (it == placement_.slots.end()) return std::nullopt;
    const ir::Value* root = it->second.root;
    auto r = rootViews_.find(root);
    if (r == rootViews_.end())
      r = rootViews_
              .emplace(root, newBuffer(valueName(root), root->type().dtype, root->type().shape,
                                       categoryOf(root)))
              .first;
    BufferView out = it->second.view;
    out.buffer = r->second.buffer;
    return out;
  }
  static bool sameView(const BufferView& a, const BufferView& b) {
    return a.buffer == b.buffer && a.offset == b.offset && a.strides == b.strides;
  }
  // `v` has been lowered: if it has a slot it is not in yet, copy it there.
  void settle(const ir::Value* v) {
    if (inSlot_.count(v)) return;
    std::optional<BufferView> slot = slotView(v);
    if (!slot) return;
    BufferView cur = viewOf(v);
    if (!sameView(cur, *slot))
      copyInto(cur, *slot, v->type().dtype, "copy " + valueName(v) + " (into place)",
               v->definingOp() ? v->definingOp()->loc() : Location{});
    views_[v] = *slot;
    inSlot_.insert(v);
  }
  void placedView(const ir::Op& op) {
    const ir::Value* r = op.result();
    const ir::Value* x = op.operand(0);
    if (placement_.slots.count(r) && placement_.chained.count(x) && inSlot_.count(x)) {
      views_[r] = *slotView(r);  // the operand sits in the inverse view: nothing to do
      inSlot_.insert(r);
      return;
    }
    if (op.kind() == OpKind::Reshape && placement_.slots.count(r)) {
      BufferView in = viewOf(x);
      if (!reshapeView(in, r->type().shape)) {
        // Copy once, straight into the slot (seen in the operand's shape).
        BufferView slot = *slotView(r);
        if (std::optional<BufferView> dst = reshapeView(slot, x->type().shape)) {
          copyInto(in, *dst, x->type().dtype, "copy " + valueName(r) + " (into place)", op.loc());
          views_[r] = slot;
          inSlot_.insert(r);
          return;
        }
      }
    }
    views_[r] = viewOp(op);
    settle(r);
  }
  void assembled(const ir::Op& op) {
    if (op.kind() == OpKind::Pad) {
      const Slot& piece = placement_.padPieces.at(&op);
      const ir::Value* x = op.operand(0);
      auto s = placement_.slots.find(x);
      bool placed = inSlot_.count(x) && s != placement_.slots.end() &&
                    s->second.root == piece.root && s->second.view.offset == piece.view.offset &&
                    s->second.view.strides == piece.view.strides;
      if (!placed) {
        BufferView dst = piece.view;
        dst.buffer = slotView(piece.root)->buffer;
        copyInto(viewOf(x), dst, x->type().dtype, "copy " + valueName(x) + " (into place)",
                 op.loc());
      }
      return;
    }
    // An add of a pad-sum: the outermost one's value is the assembled buffer.
    if (placement_.sumRoots.count(op.result())) {
      views_[op.result()] = *slotView(op.result());
      inSlot_.insert(op.result());
    }
  }

  BufferView viewOp(const ir::Op& op) {
    const ir::Value* x = op.operand(0);
    BufferView in = viewOf(x);
    const ir::Shape& rs = op.result()->type().shape;
    BufferView out = in;
    out.shape = rs;
    switch (op.kind()) {
      case OpKind::Reshape: {
        if (std::optional<BufferView> r = reshapeView(in, rs)) return *r;
        BufferView c = copy(in, x->type().dtype, valueName(x) + ".contig", categoryOf(x));
        c.shape = rs;
        c.strides = rowMajorStrides(rs);
        return c;
      }
      case OpKind::Transpose: {
        const auto& perm = op.attrAs<std::vector<int64_t>>("perm");
        for (size_t i = 0; i < perm.size(); ++i) out.strides[i] = in.strides[perm[i]];
        return out;
      }
      case OpKind::BroadcastInDim: {
        const auto& dims = op.attrAs<std::vector<int64_t>>("dims");
        out.strides.assign(rs.size(), ir::Dim(0));
        for (size_t i = 0; i < dims.size(); ++i)
          if (!(isOne(in.shape[i]) && !isOne(rs[dims[i]]))) out.strides[dims[i]] = in.strides[i];
        return out;
      }
      case OpKind::Slice: {
        const auto& start = op.attrAs<std::vector<ir::Dim>>("start");
        std::vector<int64_t> step(rs.size(), 1);
        if (op.hasAttr("stride")) step = op.attrAs<std::vector<int64_t>>("stride");
        for (size_t d = 0; d < rs.size(); ++d) {
          out.offset = out.offset + start[d] * in.strides[d];
          out.strides[d] = in.strides[d] * ir::Dim(step[d]);
        }
        return out;
      }
      default: assert(false && "not a view op"); return out;
    }
  }

  void emitGroup(int g) {
    const FusionGroup& grp = plan_.groups[g];
    KernelEmitter e("fusion_" + std::to_string(exe_.kernels.size()), grp.outer, grp.cols,
                    [this](const ir::Value* x) { return viewOf(x); },
                    [this](const ir::Value* x) { return isLeaf(x); });
    std::string label = "fusion (";
    for (size_t i = 0; i < grp.ops.size(); ++i) {
      e.emitMember(*grp.ops[i]);
      if (i < 4) label += std::string(i ? " " : "") + grp.ops[i]->mnemonic();
    }
    label += grp.ops.size() > 4 ? " ...)" : ")";
    for (const ir::Op* op : grp.ops) {
      const ir::Value* v = op->result();
      bool external = false;
      for (const ir::Use& u : v->uses())
        external = external || !u.user ||
                   (plan_.groupOf(u.user) != g &&
                    plan_.opClass[f_.indexOf(u.user)] != OpClass::Dead);
      if (!external) continue;
      std::string name = valueName(v);
      std::optional<BufferView> slot = inSlot_.count(v) ? std::nullopt : slotView(v);
      BufferView dst =
          slot ? *slot : newBuffer(name, v->type().dtype, v->type().shape, categoryOf(v));
      e.store(e.memberInstr(v), dst, v->type().dtype, e.spaceMap(v->type().shape), name);
      views_[v] = dst;
      if (slot) inSlot_.insert(v);
    }
    exe_.thunks.push_back(e.finish(&exe_.kernels, label, grp.ops.front()->loc()));
  }

  void library(const ir::Op& op, ThunkKind kind) {
    Thunk t;
    t.kind = kind;
    t.label = std::string(kind == ThunkKind::Collective ? "collective " : "library ") +
              op.mnemonic();
    t.loc = op.loc();
    t.op = static_cast<int>(f_.indexOf(&op));
    for (const ir::Value* v : op.operands()) t.views.push_back(contiguous(v, MemCategory::Workspace));
    for (int r = 0; r < op.numResults(); ++r) {
      const ir::Value* v = op.result(r);
      BufferView dst = newBuffer(valueName(v), v->type().dtype, v->type().shape, categoryOf(v));
      dst.write = true;
      t.views.push_back(dst);
      dst.write = false;
      views_[v] = dst;
    }
    exe_.thunks.push_back(std::move(t));
  }

  const ir::Function& f_;
  const LoweringOptions& o_;
  FusionPlan plan_;
  Placement placement_;
  std::map<const ir::Value*, BufferView> rootViews_;
  std::set<const ir::Value*> inSlot_;  // values that live in their slot
  Executable exe_;
  std::map<const ir::Value*, BufferView> views_;
  std::map<const ir::Value*, std::string> names_;
};

}  // namespace

StatusOr<Executable> lowerFunction(const ir::Function& f, const LoweringOptions& o) {
  Lowerer l(f, o);
  return l.run();
}

}  // namespace tessera::codegen
