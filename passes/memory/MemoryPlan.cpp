// The planned-memory estimator (MemoryPlan.h): lifetimes, the live-bytes curve, categories.
#include "passes/memory/MemoryPlan.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "ir/Module.h"

namespace tessera::passes {

const char* memoryCategoryName(MemoryCategory c) {
  switch (c) {
    case MemoryCategory::Parameters: return "parameters";
    case MemoryCategory::Gradients: return "gradients";
    case MemoryCategory::OptimizerState: return "optimizer state";
    case MemoryCategory::Activations: return "activations";
    case MemoryCategory::Other: return "other";
  }
  return "?";
}

StatusOr<int64_t> valueBytes(const ir::Value& v, const std::map<std::string, int64_t>& symbols) {
  StatusOr<int64_t> n = v.type().numElements().evaluate(symbols);
  if (!n.isOk()) {
    std::string what = v.name().empty() ? "a value of type " + v.type().str()
                                         : "%" + v.name() + " : " + v.type().str();
    std::string msg = "memory estimate: cannot size " + what + ": " + n.status().message();
    const ir::Op* def = v.definingOp();
    if (def && def->loc().known()) return Status::error(def->loc(), msg);
    return Status::error(msg);
  }
  return *n * ir::dtypeBytes(v.type().dtype);
}

StatusOr<std::vector<ValueLifetime>> valueLifetimes(
    const ir::Function& f, const std::map<std::string, int64_t>& symbols) {
  const int n = f.numOps();
  const int end = std::max(n - 1, 0);
  std::unordered_map<const ir::Op*, int> pos;
  for (int i = 0; i < n; ++i) pos[f.ops()[i].get()] = i;
  auto lifetime = [&](const ir::Value* v, int first) -> StatusOr<ValueLifetime> {
    TRY_ASSIGN(int64_t bytes, valueBytes(*v, symbols));
    int last = first;
    for (const ir::Use& u : v->uses()) last = std::max(last, u.user ? pos.at(u.user) : end);
    return ValueLifetime{v, bytes, first, last};
  };
  std::vector<ValueLifetime> out;
  for (int i = 0; i < f.numArguments(); ++i) {
    TRY_ASSIGN(ValueLifetime l, lifetime(f.argument(i), 0));
    l.last = end;  // arguments are held for the whole step
    out.push_back(l);
  }
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < f.ops()[i]->numResults(); ++r) {
      TRY_ASSIGN(ValueLifetime l, lifetime(f.ops()[i]->result(r), i));
      out.push_back(l);
    }
  return out;
}

namespace {

std::vector<int64_t> curveOf(const std::vector<ValueLifetime>& lives, int n) {
  // Difference array: +bytes at first, -bytes after last.
  std::vector<int64_t> delta(static_cast<size_t>(n) + 1, 0);
  for (const ValueLifetime& l : lives) {
    delta[l.first] += l.bytes;
    delta[l.last + 1] -= l.bytes;
  }
  std::vector<int64_t> curve(n);
  int64_t run = 0;
  for (int i = 0; i < n; ++i) curve[i] = run += delta[i];
  return curve;
}

int64_t argumentBytes(const std::vector<ValueLifetime>& lives, const ir::Function& f) {
  int64_t sum = 0;
  for (int i = 0; i < f.numArguments(); ++i) sum += lives[i].bytes;
  return sum;
}

// Ops whose results `roots` depend on (transitively), including the roots' definers.
std::unordered_set<const ir::Op*> ancestors(const std::vector<const ir::Value*>& roots) {
  std::unordered_set<const ir::Op*> seen;
  std::vector<const ir::Op*> work;
  for (const ir::Value* v : roots)
    if (v->definingOp() && seen.insert(v->definingOp()).second) work.push_back(v->definingOp());
  while (!work.empty()) {
    const ir::Op* op = work.back();
    work.pop_back();
    for (const ir::Value* o : op->operands())
      if (o->definingOp() && seen.insert(o->definingOp()).second) work.push_back(o->definingOp());
  }
  return seen;
}

bool isGradientSeed(const ir::Op& op) {
  if (op.kind() != ir::OpKind::Full || op.numOperands() != 0) return false;
  const ir::TensorType& t = op.result(0)->type();
  return t.rank() == 0 && ir::isFloat(t.dtype) && op.floatAttr("value") == 1.0;
}

}  // namespace

std::map<const ir::Value*, MemoryCategory> classifyValues(const ir::Function& f) {
  using C = MemoryCategory;
  std::map<const ir::Value*, C> out;
  const ir::Module* m = f.module();
  // The parameter block: arguments bound to trainable module parameters.
  int firstParam = -1, lastParam = -1;
  std::vector<ir::TensorType> paramTypes;
  for (int i = 0; i < f.numArguments(); ++i) {
    const ir::Parameter* p = m ? m->findParam(f.argument(i)->name()) : nullptr;
    if (p && p->trainable) {
      if (firstParam < 0) firstParam = i;
      lastParam = i;
      paramTypes.push_back(f.argument(i)->type());
    }
  }
  const bool trainStep = firstParam >= 0;
  std::unordered_set<const ir::Value*> stateArgs;
  for (int i = 0; i < f.numArguments(); ++i) {
    C c = C::Other;
    if (trainStep && i >= firstParam && i <= lastParam) c = C::Parameters;
    if (trainStep && i > lastParam) {
      c = C::OptimizerState;
      stateArgs.insert(f.argument(i));
    }
    out[f.argument(i)] = c;
  }

  std::vector<const ir::Value*> lossRoot;
  if (!f.results().empty()) lossRoot.push_back(f.results()[0]);
  const std::unordered_set<const ir::Op*> forward = ancestors(lossRoot);
  // Forward dependence on seeds and on optimizer state, in one pass over the op order.
  std::unordered_set<const ir::Value*> fromSeed, fromState(stateArgs.begin(), stateArgs.end());
  for (const auto& op : f.ops()) {
    bool seed = !forward.count(op.get()) && isGradientSeed(*op);
    bool state = false;
    for (const ir::Value* o : op->operands()) {
      seed = seed || fromSeed.count(o);
      state = state || fromState.count(o);
    }
    for (int r = 0; r < op->numResults(); ++r) {
      const ir::Value* v = op->result(r);
      const bool isParamShaped =
          std::find(paramTypes.begin(), paramTypes.end(), v->type()) != paramTypes.end();
      if (seed) fromSeed.insert(v);
      if (state) fromState.insert(v);
      C c = C::Other;
      if (!trainStep || forward.count(op.get()))
        c = C::Activations;
      else if (state)
        c = C::Other;
      else if (seed)
        c = isParamShaped ? C::Gradients : C::Other;
      else if (op->numOperands() > 0)
        c = C::Activations;  // a recomputed forward value
      out[v] = c;
    }
  }
  if (trainStep) {
    const int numParams = static_cast<int>(paramTypes.size());
    for (int i = 1; i < static_cast<int>(f.results().size()); ++i)
      out[f.results()[i]] = i <= numParams ? C::Parameters : C::OptimizerState;
  }
  return out;
}

StatusOr<std::vector<int64_t>> liveBytesCurve(const ir::Function& f,
                                              const std::map<std::string, int64_t>& symbols) {
  TRY_ASSIGN(std::vector<ValueLifetime> lives, valueLifetimes(f, symbols));
  return curveOf(lives, f.numOps());
}

StatusOr<int64_t> plannedPeak(const ir::Function& f,
                              const std::map<std::string, int64_t>& symbols) {
  TRY_ASSIGN(std::vector<ValueLifetime> lives, valueLifetimes(f, symbols));
  if (f.numOps() == 0) return argumentBytes(lives, f);
  std::vector<int64_t> curve = curveOf(lives, f.numOps());
  return *std::max_element(curve.begin(), curve.end());
}

StatusOr<MemoryPlan> planMemory(const ir::Function& f,
                                const std::map<std::string, int64_t>& symbols, int topN) {
  TRY_ASSIGN(std::vector<ValueLifetime> lives, valueLifetimes(f, symbols));
  MemoryPlan plan;
  plan.curve = curveOf(lives, f.numOps());
  std::map<const ir::Value*, MemoryCategory> cats = classifyValues(f);
  int at = -1;
  if (!plan.curve.empty()) {
    at = static_cast<int>(std::max_element(plan.curve.begin(), plan.curve.end()) -
                          plan.curve.begin());
    plan.peakBytes = plan.curve[at];
  } else {
    plan.peakBytes = argumentBytes(lives, f);
  }
  plan.peakOp = at;
  std::vector<LiveTensor> live;
  for (const ValueLifetime& l : lives) {
    if (at >= 0 && (l.first > at || l.last < at)) continue;
    if (at < 0 && !l.value->isArgument()) continue;
    LiveTensor t{l.value, l.bytes, cats.at(l.value)};
    plan.peakByCategory[static_cast<int>(t.category)] += t.bytes;
    live.push_back(t);
  }
  std::stable_sort(live.begin(), live.end(),
                   [](const LiveTensor& a, const LiveTensor& b) { return a.bytes > b.bytes; });
  if (static_cast<int>(live.size()) > topN) live.resize(std::max(topN, 0));
  plan.largestAtPeak = std::move(live);
  return plan;
}

std::string formatBytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  return buf;
}

}  // namespace tessera::passes
