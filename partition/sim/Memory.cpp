// Liveness-based peak memory (Memory.h). One sweep over the ops with +bytes at a value's
// definition and -bytes after its last use.
#include "partition/sim/Memory.h"

#include <unordered_map>

#include "ir/Module.h"

namespace tessera::partition::sim {

namespace {

enum class Kind { Parameters, OptimizerState, Inputs, Gradients, Activations };

void addTo(MemoryBreakdown& b, Kind k, double bytes) {
  switch (k) {
    case Kind::Parameters: b.parameters += bytes; break;
    case Kind::OptimizerState: b.optimizerState += bytes; break;
    case Kind::Inputs: b.inputs += bytes; break;
    case Kind::Gradients: b.gradients += bytes; break;
    case Kind::Activations: b.activations += bytes; break;
  }
}

}  // namespace

StatusOr<MemoryProfile> memoryProfile(const ir::Function& f, const cost::SymbolValues& syms,
                                      const std::vector<cost::OpCost>& costs) {
  const int n = f.numOps();
  std::unordered_map<const ir::Op*, int> index;
  for (int i = 0; i < n; ++i) index[f.ops()[static_cast<size_t>(i)].get()] = i;

  MemoryBreakdown resident;  // arguments: the whole step
  for (int i = 0; i < f.numArguments(); ++i) {
    const ir::Value& a = *f.argument(i);
    TRY_ASSIGN(double bytes, cost::tensorBytes(a.type(), syms, f.loc));
    Kind k = Kind::Inputs;
    if (const ir::Parameter* p = f.module() ? f.module()->findParam(a.name()) : nullptr)
      k = p->trainable ? Kind::Parameters : Kind::OptimizerState;
    addTo(resident, k, bytes);
  }

  // Storage roots: a reshape's result lives in its operand's buffer.
  struct Buffer { double bytes = 0; int def = 0; int last = 0; Kind kind = Kind::Activations; };
  std::unordered_map<const ir::Value*, size_t> rootOf;
  std::vector<Buffer> buffers;
  auto lastUse = [&](const ir::Value& v, int def) {
    int last = def;
    for (const ir::Use& u : v.uses()) last = u.user ? std::max(last, index[u.user]) : n;
    return last;
  };
  for (int i = 0; i < n; ++i) {
    const ir::Op& op = *f.ops()[static_cast<size_t>(i)];
    for (int r = 0; r < op.numResults(); ++r) {
      const ir::Value* v = op.result(r);
      const ir::Value* src = op.kind() == ir::OpKind::Reshape ? op.operand(0) : nullptr;
      if (src && rootOf.count(src)) {
        size_t b = rootOf[src];
        rootOf[v] = b;
        buffers[b].last = std::max(buffers[b].last, lastUse(*v, i));
        continue;
      }
      if (src) continue;  // a view of an argument: no new bytes, the argument is resident
      if (costs[static_cast<size_t>(i)].fused) continue;
      TRY_ASSIGN(double bytes, cost::tensorBytes(v->type(), syms, op.loc()));
      Kind k = v->name().rfind("grad", 0) == 0 ? Kind::Gradients : Kind::Activations;
      rootOf[v] = buffers.size();
      buffers.push_back({bytes, i, lastUse(*v, i), k});
    }
  }

  // Sweep: delta[i] applied when op i starts (allocations), frees after the op's last use.
  std::vector<std::vector<size_t>> allocAt(static_cast<size_t>(n) + 1), freeAfter(static_cast<size_t>(n) + 1);
  for (size_t b = 0; b < buffers.size(); ++b) {
    allocAt[static_cast<size_t>(buffers[b].def)].push_back(b);
    freeAfter[static_cast<size_t>(std::min(buffers[b].last, n))].push_back(b);
  }
  MemoryProfile prof;
  MemoryBreakdown live = resident;
  prof.peakBytes = live.total();
  prof.atPeak = live;
  for (int i = 0; i < n; ++i) {
    for (size_t b : allocAt[static_cast<size_t>(i)]) addTo(live, buffers[b].kind, buffers[b].bytes);
    if (live.total() > prof.peakBytes) {
      prof.peakBytes = live.total();
      prof.peakOp = i;
      prof.atPeak = live;
    }
    for (size_t b : freeAfter[static_cast<size_t>(i)]) addTo(live, buffers[b].kind, -buffers[b].bytes);
  }
  return prof;
}

}  // namespace tessera::partition::sim
