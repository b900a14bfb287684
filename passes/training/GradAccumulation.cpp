// Micro-batch planning, slicing and averaging (see GradAccumulation.h).
#include "passes/training/GradAccumulation.h"

#include <algorithm>

namespace tessera::passes {

using ir::Dim;
using ir::Value;

namespace {

std::string argLabel(const Value* v) {
  return v->name().empty() ? "argument #" + std::to_string(v->resultIndex()) : "%" + v->name();
}

bool mentions(const ir::TensorType& t, const std::string& sym) {
  for (const Dim& d : t.shape) {
    std::vector<std::string> syms = d.symbols();
    if (std::find(syms.begin(), syms.end(), sym) != syms.end()) return true;
  }
  return false;
}

Status fail(const ir::Function& f, const std::string& message) {
  return f.loc.known() ? Status::error(f.loc, message) : Status::error(message);
}

// Rows [k*B/K, (k+1)*B/K) of `arg` along dim 0.
StatusOr<Value*> sliceMicroBatch(IrEmitter& e, Value* arg, const std::string& sym, int k, int K) {
  const ir::TensorType& t = arg->type();
  std::vector<Dim> start(t.rank(), Dim(0)), limit = t.shape;
  Dim b = Dim::symbol(sym);
  start[0] = (b * Dim(k)).divide(K);
  limit[0] = (b * Dim(k + 1)).divide(K);
  return e.value(ir::OpKind::Slice, {arg}, {{"start", start}, {"limit", limit}}, {},
                 arg->name().empty() ? "" : arg->name() + "_mb" + std::to_string(k));
}

}  // namespace

StatusOr<MicroBatchPlan> planMicroBatches(const ir::Function& f, const std::vector<bool>& trainable,
                                          int k) {
  MicroBatchPlan plan;
  plan.count = k;
  plan.split.assign(f.numArguments(), false);
  if (k == 1) return plan;

  const Value* first = nullptr;
  for (int i = 0; i < f.numArguments() && !first; ++i)
    if (!trainable[i] && f.argument(i)->type().rank() >= 1) first = f.argument(i);
  if (!first)
    return fail(f, "accum=" + std::to_string(k) + ": @" + f.name() +
                       " has no batch data to split (no non-trainable argument of rank >= 1)");
  std::optional<std::string> sym = first->type().shape[0].asSymbol();
  if (!sym)
    return fail(f, "accum=" + std::to_string(k) + ": the batch dim of " + argLabel(first) +
                       " (" + first->type().str() +
                       ") must be a symbol to be split into micro-batches, got " +
                       first->type().shape[0].str());

  for (int i = 0; i < f.numArguments(); ++i) {
    const Value* a = f.argument(i);
    const ir::TensorType& t = a->type();
    if (!mentions(t, *sym)) continue;
    if (trainable[i])
      return fail(f, "accum=" + std::to_string(k) + ": trainable parameter " + argLabel(a) + " (" +
                         t.str() + ") depends on the batch symbol " + *sym);
    bool onlyLeading = t.shape[0] == Dim::symbol(*sym);
    for (int d = 1; d < t.rank() && onlyLeading; ++d)
      onlyLeading = !mentions(ir::TensorType{t.dtype, {t.shape[d]}}, *sym);
    if (!onlyLeading)
      return fail(f, "accum=" + std::to_string(k) + ": " + argLabel(a) + " (" + t.str() +
                         ") uses the batch symbol " + *sym +
                         " other than as its leading dim, so it cannot be split into "
                         "micro-batches");
    plan.split[i] = true;
  }
  plan.subst = DimSubstitution{*sym, Dim::symbol(*sym).divide(k)};
  return plan;
}

StatusOr<AccumulatedGradients> accumulateGradients(IrEmitter& e, const ir::Function& grad,
                                                   int numForwardResults,
                                                   const MicroBatchPlan& plan,
                                                   const std::vector<Value*>& args) {
  const int K = plan.count;
  const int numGrads = static_cast<int>(grad.results().size()) - numForwardResults;
  AccumulatedGradients sum;
  sum.grads.assign(numGrads, nullptr);
  for (int k = 0; k < K; ++k) {
    std::vector<Value*> mbArgs = args;
    for (size_t i = 0; i < args.size(); ++i)
      if (plan.split[i]) {
        TRY_ASSIGN(mbArgs[i], sliceMicroBatch(e, args[i], plan.subst->symbol, k, K));
      }
    std::string suffix = K == 1 ? "" : "_mb" + std::to_string(k);
    TRY_ASSIGN(std::vector<Value*> res,
               inlineFunction(grad, e.function(), mbArgs, std::nullopt, &e, suffix));
    if (k == 0) {
      sum.loss = res[0];
      for (int j = 0; j < numGrads; ++j) sum.grads[j] = res[numForwardResults + j];
      continue;
    }
    TRY_ASSIGN(sum.loss, e.add(sum.loss, res[0]));
    for (int j = 0; j < numGrads; ++j) {
      TRY_ASSIGN(sum.grads[j], e.add(sum.grads[j], res[numForwardResults + j]));
    }
  }
  if (K == 1) return sum;

  // Divide (not multiply by 1/K) so that K = 2, 4, ... are exact.
  // The averages take the names of the full-batch values (`loss`, `grad_w`).
  auto average = [&](Value* v, const std::string& name) -> StatusOr<Value*> {
    TRY_ASSIGN(Value * k, e.scalar(v->type().dtype, K));
    return e.div(v, k, name);
  };
  TRY_ASSIGN(sum.loss, average(sum.loss, grad.results()[0]->name()));
  for (int j = 0; j < numGrads; ++j) {
    TRY_ASSIGN(sum.grads[j], average(sum.grads[j], grad.results()[numForwardResults + j]->name()));
  }
  return sum;
}

}  // namespace tessera::passes
