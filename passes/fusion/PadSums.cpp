// Recognizing pad-sums over the IR (see PadSums.h). Moved from codegen/fusion/Placement.cpp in
// session 13 so that the engine and the cost model share the rule.
#include "passes/fusion/PadSums.h"

#include <algorithm>
#include <optional>

#include "ir/Op.h"

namespace tessera::passes {

using ir::OpKind;

namespace {

bool singleUse(const ir::Value* v) { return v->uses().size() == 1 && v->uses()[0].user; }

class Finder {
 public:
  explicit Finder(const ir::Function& f) : f_(f) {}

  PadSums run() {
    for (int i = f_.numOps(); i-- > 0;) padSum(*f_.ops()[i]);
    return std::move(out_);
  }

 private:
  // Collects the pads of an add tree rooted at `v`; false when it is not a pure pad-sum.
  bool terms(const ir::Value* v, bool root, std::vector<const ir::Op*>* pads,
             std::vector<const ir::Op*>* adds) {
    const ir::Op* d = v->definingOp();
    if (!d || (!root && !singleUse(v)) || out_.members.count(d)) return false;
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
    if (op.kind() != OpKind::Add || out_.members.count(&op)) return;
    const ir::Value* sum = op.result();
    ir::DType t = sum->type().dtype;
    if (t != ir::DType::F32 && t != ir::DType::F64) return;
    std::vector<const ir::Op*> pads, adds;
    if (!terms(sum, true, &pads, &adds) || pads.size() < 2) return;
    const ir::Shape& shape = sum->type().shape;
    // One padded axis, shared by every pad; the pieces tile it exactly.
    PadSum s;
    s.root = &op;
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
      if (a < 0 || (s.axis >= 0 && a != s.axis)) return;
      s.axis = a;
      s.pieces.emplace_back(low[a], pad);
    }
    std::optional<int64_t> total = shape[s.axis].constant();
    if (!total) return;
    std::sort(s.pieces.begin(), s.pieces.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    int64_t at = 0;
    for (auto [low, pad] : s.pieces) {
      std::optional<int64_t> len = pad->operand(0)->type().shape[s.axis].constant();
      if (!len || low != at) return;
      at += *len;
    }
    if (at != *total) return;
    for (const ir::Op* a : adds) out_.members.insert(a);
    for (const ir::Op* pad : pads) out_.members.insert(pad);
    s.adds = std::move(adds);
    out_.sums.push_back(std::move(s));
  }

  const ir::Function& f_;
  PadSums out_;
};

}  // namespace

PadSums findPadSums(const ir::Function& f) { return Finder(f).run(); }

}  // namespace tessera::passes
