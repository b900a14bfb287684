// Reverse-mode differentiation (Autodiff.h): the op table's gradient column, the reverse sweep
// that accumulates cotangents, and the diagnostics for losses that cannot be differentiated.
//
// The sweep only visits ops on a path from a `wrt` argument to the loss, so the backward graph
// contains no work for frozen inputs; rules still compute every operand's cotangent, and the
// backward ops nobody uses are erased at the end (the forward ops are left untouched, dead or not).
// Cotangents live on float values only: an integer or bool value never carries one, which is how
// index operands and predicates drop out without special cases.
#include "passes/autodiff/Autodiff.h"

#include <cassert>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "ir/Module.h"
#include "ir/Verifier.h"
#include "passes/autodiff/GradContext.h"

namespace tessera::passes {

namespace {

enum class GradKind { Rule, Zero, None };

struct GradEntry {
  GradKind kind = GradKind::None;
  GradFn fn = nullptr;
  const char* why = nullptr;  // for NO_GRAD
  bool listed = false;
};

const std::vector<GradEntry>& gradTable() {
  static const std::vector<GradEntry> table = [] {
    std::vector<GradEntry> t(ir::allOps().size());
#define SLOT(kind) t[static_cast<size_t>(ir::OpKind::kind)]
#define GRAD(kind, fn) SLOT(kind) = {GradKind::Rule, &fn, nullptr, true};
#define ZERO_GRAD(kind) SLOT(kind) = {GradKind::Zero, nullptr, nullptr, true};
#define NO_GRAD(kind, why) SLOT(kind) = {GradKind::None, nullptr, why, true};
#include "passes/autodiff/GradRules.def"
#undef SLOT
    return t;
  }();
  return table;
}

const GradEntry& gradEntry(ir::OpKind kind) {
  const GradEntry& e = gradTable()[static_cast<size_t>(kind)];
  assert(e.listed && "every op kind must appear in GradRules.def");
  return e;
}

std::string argName(const ir::Value* v) {
  return v->name().empty() ? "arg" + std::to_string(v->resultIndex()) : v->name();
}

// The op's mnemonic; its location is the error's own prefix.
std::string opName(const ir::Op& op) { return "'" + std::string(op.mnemonic()) + "'"; }

using ValueSet = std::unordered_set<const ir::Value*>;

// Values computed from `sources` by the first `n` ops (any dtype: an index derived from a
// parameter still depends on it).
ValueSet forwardClosure(const ir::Function& f, size_t n, const std::vector<ir::Value*>& sources) {
  ValueSet s(sources.begin(), sources.end());
  for (size_t i = 0; i < n; ++i) {
    const ir::Op& op = *f.ops()[i];
    bool any = false;
    for (ir::Value* v : op.operands()) any = any || s.count(v);
    if (any)
      for (int r = 0; r < op.numResults(); ++r) s.insert(op.result(r));
  }
  return s;
}

// Values the loss is computed from, the loss included.
ValueSet backwardClosure(const ir::Function& f, size_t n, const ir::Value* loss) {
  ValueSet s{loss};
  for (size_t i = n; i-- > 0;) {
    const ir::Op& op = *f.ops()[i];
    bool any = false;
    for (int r = 0; r < op.numResults(); ++r) any = any || s.count(op.result(r));
    if (any)
      for (ir::Value* v : op.operands()) s.insert(v);
  }
  return s;
}

class Differentiator {
 public:
  Differentiator(ir::Function& f, ir::Value* loss, const std::vector<ir::Value*>& wrt)
      : f_(f), loss_(loss), wrt_(wrt), numForward_(f.ops().size()) {}

  StatusOr<GradientInfo> run();

 private:
  Status accumulate(ir::Value* v, ir::Value* grad, const ir::Op& at);
  Status visit(ir::Op& op, std::unordered_map<const ir::Op*, std::vector<bool>>& contributed);
  Status blockedError(ir::Value* arg,
                      const std::unordered_map<const ir::Op*, std::vector<bool>>& contributed);
  void eraseDeadBackwardOps();

  ir::Function& f_;
  ir::Value* loss_;
  const std::vector<ir::Value*>& wrt_;
  size_t numForward_;
  ValueSet dependsOnWrt_;
  ValueSet reachesLoss_;
  std::unordered_map<const ir::Value*, ir::Value*> cotangent_;
};

Status Differentiator::accumulate(ir::Value* v, ir::Value* grad, const ir::Op& at) {
  if (grad->type() != v->type())
    return Status::error(at.loc(), std::string("gradient of ") + at.mnemonic() +
                                       ": the rule returned a cotangent of type " +
                                       grad->type().str() + " for an operand of type " +
                                       v->type().str());
  auto [it, inserted] = cotangent_.emplace(v, grad);
  if (inserted) return Status::ok();
  // A value with several uses: its cotangent is the sum over the uses.
  ir::OpSpec spec{ir::OpKind::Add, {it->second, grad}, {}, {}, at.loc()};
  TRY_ASSIGN(ir::Op * sum, f_.addOp(std::move(spec)));
  it->second = sum->result(0);
  return Status::ok();
}

Status Differentiator::visit(ir::Op& op,
                             std::unordered_map<const ir::Op*, std::vector<bool>>& contributed) {
  bool onPath = false, hasGrad = false;
  for (ir::Value* v : op.operands()) onPath = onPath || dependsOnWrt_.count(v);
  for (int r = 0; r < op.numResults(); ++r) hasGrad = hasGrad || cotangent_.count(op.result(r));
  bool resultReachesLoss = false;
  for (int r = 0; r < op.numResults(); ++r)
    resultReachesLoss = resultReachesLoss || reachesLoss_.count(op.result(r));
  if (!onPath || !resultReachesLoss) return Status::ok();

  const GradEntry& entry = gradEntry(op.kind());
  if (entry.kind == GradKind::None) {
    // The gradient would silently miss this path's contribution, so this is an error even if
    // the argument also reaches the loss another way.
    for (ir::Value* arg : wrt_) {
      ValueSet dep = forwardClosure(f_, numForward_, {arg});
      for (ir::Value* v : op.operands())
        if (dep.count(v))
          return Status::error(op.loc(), "cannot differentiate through " + opName(op) + " (" +
                                             entry.why + "): it is on the path from %" +
                                             argName(arg) + " to the loss");
    }
    assert(false && "an op on the path depends on some wrt argument");
  }
  if (entry.kind == GradKind::Zero || !hasGrad) return Status::ok();

  GradContext ctx{f_, op, {}};
  for (int r = 0; r < op.numResults(); ++r) {
    auto it = cotangent_.find(op.result(r));
    ctx.resultGrads.push_back(it == cotangent_.end() ? nullptr : it->second);
  }
  TRY_ASSIGN(std::vector<ir::Value*> grads, entry.fn(ctx));
  assert(static_cast<int>(grads.size()) == op.numOperands());
  std::vector<bool>& got = contributed[&op];
  got.assign(op.numOperands(), false);
  for (int i = 0; i < op.numOperands(); ++i) {
    ir::Value* v = op.operand(i);
    if (!grads[i] || !dependsOnWrt_.count(v)) continue;
    TRY(accumulate(v, grads[i], op));
    got[i] = true;
  }
  return Status::ok();
}

// `arg` reaches the loss but got no cotangent: name the op that cut the last differentiable
// link — the latest op on a path from `arg` to the loss that has a float operand depending on
// `arg` and passed no gradient to it (a ZERO_GRAD op such as argmax or compare, a cast to an
// integer type, ...). Ops before it on the same path got no cotangent because of it.
Status Differentiator::blockedError(
    ir::Value* arg, const std::unordered_map<const ir::Op*, std::vector<bool>>& contributed) {
  ValueSet dep = forwardClosure(f_, numForward_, {arg});
  for (size_t i = numForward_; i-- > 0;) {
    const ir::Op& op = *f_.ops()[i];
    bool reaches = false;
    for (int r = 0; r < op.numResults(); ++r) reaches = reaches || reachesLoss_.count(op.result(r));
    if (!reaches) continue;
    auto it = contributed.find(&op);
    for (int k = 0; k < op.numOperands(); ++k) {
      ir::Value* v = op.operand(k);
      if (!dep.count(v) || !ir::isFloat(v->type().dtype)) continue;
      if (it != contributed.end() && it->second[k]) continue;
      std::string reason = gradEntry(op.kind()).kind == GradKind::Zero
                               ? "its gradient is zero everywhere it is defined"
                               : "it passes no gradient to its operand " + std::to_string(k);
      return Status::error(op.loc(), "the loss depends on %" + argName(arg) +
                                         " only through non-differentiable ops: " + opName(op) +
                                         " blocks the path (" + reason + ")");
    }
  }
  return Status::error(f_.loc, "the loss does not depend differentiably on %" + argName(arg));
}

void Differentiator::eraseDeadBackwardOps() {
  for (size_t i = f_.ops().size(); i-- > numForward_;) {
    ir::Op* op = f_.ops()[i].get();
    bool used = op->info().hasSideEffect();
    for (int r = 0; r < op->numResults(); ++r) used = used || op->result(r)->hasUses();
    if (!used) f_.eraseOp(op);
  }
}

StatusOr<GradientInfo> Differentiator::run() {
  for (ir::Value* arg : wrt_) {
    assert(arg->isArgument() && arg->function() == &f_);
    if (!ir::isFloat(arg->type().dtype))
      return Status::error(f_.loc, "cannot differentiate with respect to %" + argName(arg) +
                                       " of type " + arg->type().str() +
                                       ": only float arguments have gradients");
  }
  dependsOnWrt_ = forwardClosure(f_, numForward_, wrt_);
  reachesLoss_ = backwardClosure(f_, numForward_, loss_);
  for (ir::Value* arg : wrt_)
    if (!reachesLoss_.count(arg))
      return Status::error(f_.loc, "loss does not depend on %" + argName(arg));

  // The seed: d loss / d loss = 1, located at the return.
  {
    ir::OpSpec seed{ir::OpKind::Full, {}, {{"value", 1.0}}, {loss_->type()}, f_.returnLoc};
    TRY_ASSIGN(ir::Op * one, f_.addOp(std::move(seed)));
    cotangent_[loss_] = one->result(0);
  }
  std::unordered_map<const ir::Op*, std::vector<bool>> contributed;
  for (size_t i = numForward_; i-- > 0;) TRY(visit(*f_.ops()[i], contributed));

  GradientInfo info;
  for (ir::Value* arg : wrt_) {
    auto it = cotangent_.find(arg);
    if (it == cotangent_.end()) return blockedError(arg, contributed);
    ir::Value* g = it->second;
    // A value can be the cotangent of two arguments (d(x+y) gives both the same one); each
    // result gets its own name, so the second is an identity reshape of the first.
    if (!g->name().empty()) {
      ir::OpSpec copy{ir::OpKind::Reshape, {g}, {}, {g->type()}, f_.returnLoc};
      TRY_ASSIGN(ir::Op * c, f_.addOp(std::move(copy)));
      g = c->result(0);
    }
    g->setName("grad_" + argName(arg));
    info.grads.push_back(g);
  }
  std::vector<ir::Value*> results = f_.results();
  results.insert(results.end(), info.grads.begin(), info.grads.end());
  f_.setResults(std::move(results));
  eraseDeadBackwardOps();
  return info;
}

}  // namespace

StatusOr<GradientInfo> differentiate(ir::Function& f, int lossIndex,
                                     const std::vector<ir::Value*>& wrt) {
  if (f.module()) TRY(ir::verifyModule(*f.module()));
  if (lossIndex < 0 || lossIndex >= static_cast<int>(f.results().size()))
    return Status::error(f.returnLoc, "@" + f.name() + " has no result " +
                                          std::to_string(lossIndex) + " to use as the loss");
  ir::Value* loss = f.results()[lossIndex];
  const ir::TensorType& t = loss->type();
  if (t.rank() != 0 || !ir::isFloat(t.dtype))
    return Status::error(f.returnLoc, "the loss (result " + std::to_string(lossIndex) + " of @" +
                                          f.name() + ") must be a float scalar, got " + t.str());
  return Differentiator(f, loss, wrt).run();
}

std::vector<ir::Value*> trainableArguments(const ir::Function& f) {
  std::vector<ir::Value*> out;
  if (!f.module()) return out;
  for (int i = 0; i < f.numArguments(); ++i) {
    ir::Value* a = f.argument(i);
    const ir::Parameter* p = f.module()->findParam(a->name());
    if (p && p->trainable) out.push_back(a);
  }
  return out;
}

}  // namespace tessera::passes
