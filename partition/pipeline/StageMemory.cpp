// Planned memory per pipeline rank (StageMemory.h).
#include "partition/pipeline/StageMemory.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>
#include <unordered_map>

#include "partition/pipeline/PipelineForward.h"

namespace tessera::partition::pipeline {

using passes::MemoryCategory;

std::map<const ir::Value*, MemoryCategory> classifyStageValues(const StageMemoryInput& in) {
  const ir::Function& f = *in.function;
  std::map<const ir::Value*, MemoryCategory> out;
  const std::set<std::string> params(in.params.begin(), in.params.end());
  const std::set<std::string> state(in.state.begin(), in.state.end());
  std::set<std::string> paramTypes;  // by printed type
  // Taints: depends on a gradient source (received gradient, autodiff seed) / on optimizer state.
  // data: depends on a micro-batch (a data argument or a received activation) — what is stored
  // per micro-batch in flight, unlike what is derived from parameters or constants alone.
  std::unordered_map<const ir::Value*, bool> grad, fromState, data;
  for (int i = 0; i < f.numArguments(); ++i) {
    const ir::Value* a = f.argument(i);
    MemoryCategory c = MemoryCategory::Other;
    if (params.count(a->name())) {
      c = MemoryCategory::Parameters;
      paramTypes.insert(a->type().str());
    } else if (state.count(a->name())) {
      c = MemoryCategory::OptimizerState;
      fromState[a] = true;
    } else {
      data[a] = true;
    }
    out[a] = c;
  }
  const std::vector<bool> forward = forwardOps(f, in.activationSends, in.axis);
  for (int i = 0; i < f.numOps(); ++i) {
    const ir::Op& op = *f.ops()[i];
    bool g = false, s = false, d = forward[i] && op.kind() == ir::OpKind::Recv;
    if (!forward[i] && (op.numOperands() == 0 || op.kind() == ir::OpKind::Recv)) g = true;
    for (const ir::Value* o : op.operands()) {
      g = g || grad[o];
      s = s || fromState[o];
      d = d || data[o];
    }
    for (int r = 0; r < op.numResults(); ++r) {
      const ir::Value* v = op.result(r);
      grad[v] = g;
      fromState[v] = s;
      data[v] = d;
      MemoryCategory c = MemoryCategory::Other;
      if (d && (forward[i] || (!g && !s))) c = MemoryCategory::Activations;
      else if (g && !s && paramTypes.count(v->type().str())) c = MemoryCategory::Gradients;
      out[v] = c;
    }
  }
  // The updates: results 1..P are the parameters, the rest the state.
  for (size_t k = 1; k < f.results().size(); ++k) {
    const ir::Value* v = f.results()[k];
    if (v->isArgument()) continue;
    out[v] = k <= in.params.size() ? MemoryCategory::Parameters : MemoryCategory::OptimizerState;
  }
  return out;
}

StatusOr<StageMemory> planStageMemory(const StageMemoryInput& in, const std::map<std::string, int64_t>& symbols,
                                      int topN) {
  const ir::Function& f = *in.function;
  TRY_ASSIGN(std::vector<passes::ValueLifetime> lives, passes::valueLifetimes(f, symbols));
  const std::map<const ir::Value*, MemoryCategory> cat = classifyStageValues(in);
  const int n = std::max(f.numOps(), 1);
  constexpr int K = passes::kNumMemoryCategories;
  // Per category, a difference array over op positions.
  std::vector<std::vector<int64_t>> delta(K, std::vector<int64_t>(static_cast<size_t>(n) + 1, 0));
  for (const passes::ValueLifetime& l : lives) {
    const int c = static_cast<int>(cat.at(l.value));
    delta[c][l.first] += l.bytes;
    delta[c][std::min(l.last, n - 1) + 1] -= l.bytes;
  }
  StageMemory out;
  out.stages = in.stages;
  std::array<int64_t, K> run{};
  for (int i = 0; i < n; ++i) {
    int64_t total = 0;
    for (int c = 0; c < K; ++c) {
      run[c] += delta[c][i];
      total += run[c];
      out.maxByCategory[c] = std::max(out.maxByCategory[c], run[c]);
    }
    if (total > out.peakBytes || out.peakOp < 0) {
      out.peakBytes = total;
      out.peakOp = i;
      out.peakByCategory = run;
    }
  }
  for (const passes::ValueLifetime& l : lives)
    if (l.first <= out.peakOp && out.peakOp <= l.last && l.bytes > 0)
      out.largestAtPeak.push_back({l.value, l.bytes, cat.at(l.value)});
  std::stable_sort(out.largestAtPeak.begin(), out.largestAtPeak.end(),
                   [](const passes::LiveTensor& a, const passes::LiveTensor& b) { return a.bytes > b.bytes; });
  if (static_cast<int>(out.largestAtPeak.size()) > topN) out.largestAtPeak.resize(topN);
  return out;
}

std::string printStageMemory(const std::vector<StageMemory>& ranks) {
  std::ostringstream o;
  o << "planned memory per pipeline rank (one device; peak by category, and each category's own peak):\n";
  constexpr MemoryCategory order[] = {MemoryCategory::Parameters, MemoryCategory::Gradients,
                                      MemoryCategory::OptimizerState, MemoryCategory::Activations,
                                      MemoryCategory::Other};
  for (size_t r = 0; r < ranks.size(); ++r) {
    const StageMemory& m = ranks[r];
    o << "  rank " << r << " (stage";
    for (size_t i = 0; i < m.stages.size(); ++i) o << (i ? "," : " ") << m.stages[i];
    o << "): peak " << passes::formatBytes(m.peakBytes) << "\n";
    for (MemoryCategory c : order) {
      const char* name = c == MemoryCategory::Other ? "workspace" : passes::memoryCategoryName(c);
      char line[160];
      std::snprintf(line, sizeof line, "    %-16s %12s at the peak, %12s max\n", name,
                    passes::formatBytes(m.peakByCategory[static_cast<int>(c)]).c_str(),
                    passes::formatBytes(m.maxByCategory[static_cast<int>(c)]).c_str());
      o << line;
    }
    o << "    largest at the peak:";
    for (const passes::LiveTensor& t : m.largestAtPeak)
      o << " %" << (t.value->name().empty() ? "?" : t.value->name()) << " (" << passes::formatBytes(t.bytes) << ")";
    o << "\n";
  }
  return o.str();
}

}  // namespace tessera::partition::pipeline
