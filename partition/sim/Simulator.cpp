// The event simulation of one rank (Simulator.h). Ops are visited once in program order; each
// stream keeps the time it is next free, each value the time it is ready.
#include "partition/sim/Simulator.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "ir/Module.h"
#include "partition/cost/CollectiveCost.h"
#include "partition/cost/ProgramCost.h"

namespace tessera::partition::sim {

StatusOr<SimResult> simulate(const ir::Function& f, const ir::Mesh& mesh,
                             const cost::ClusterSpec& cluster, const SimOptions& opts) {
  std::vector<cost::OpCost> costs;
  if (opts.fusion == cost::FusionRule::Engine) {
    TRY_ASSIGN(costs, cost::engineProgramCosts(f, opts.symbols));
  } else {
    TRY_ASSIGN(costs, cost::programCosts(f, opts.symbols, opts.fuseElementwise));
  }
  SimResult r;
  r.numOps = f.numOps();

  struct Ready { double time = 0; const std::string* stream = nullptr; };  // stream: producer's
  std::unordered_map<const ir::Value*, Ready> ready;
  std::map<std::string, double> streamFree;
  std::map<ir::DType, double> gemmFlopsByType;
  double computeFree = 0;

  auto operandsReady = [&](const ir::Op& op) {
    Ready latest;
    for (const ir::Value* v : op.operands()) {
      auto it = ready.find(v);
      if (it != ready.end() && it->second.time > latest.time) latest = it->second;
    }
    return latest;
  };

  for (size_t i = 0; i < f.ops().size(); ++i) {
    const ir::Op& op = *f.ops()[i];
    const cost::OpCost& c = costs[i];
    Ready in = operandsReady(op);
    if (!c.isCollective) {
      double start = std::max(computeFree, in.time);
      if (start > computeFree && in.stream) r.comm[*in.stream].exposedSeconds += start - computeFree;
      double dur = cost::computeSeconds(c, cluster.device);
      computeFree = start + dur;
      r.computeSeconds += dur;
      // Batched GEMMs (one BLAS call per item in the CPU engine) apart, as the engine's profile
      // lists them by shape.
      r.computeByKind[c.isGemm ? std::string(c.batch > 1 ? "gemm batched" : "gemm")
                      : c.kernelOps > 1 ? std::string("fused kernel")
                                        : std::string(op.mnemonic())] += dur;
      r.hardwareFlops += c.flops;
      if (opts.recomputeOps.count(&op)) {
        r.recomputeSeconds += dur;
      } else {
        r.modelFlops += c.flops;
      }
      if (c.isGemm) gemmFlopsByType[c.computeType] += c.flops;
      for (int k = 0; k < op.numResults(); ++k) ready[op.result(k)] = {computeFree, nullptr};
      continue;
    }
    // A collective: on its axis set's stream.
    const ir::Mesh* m = &mesh;
    if (const ir::AttrValue* mr = op.attr("mesh"); mr && f.module())
      if (const ir::Mesh* named = f.module()->findMesh(std::get<ir::MeshRef>(*mr).name)) m = named;
    TRY_ASSIGN(cost::CollectiveEstimate e,
               cost::estimateCollectiveOp(op, opts.symbols, *m, cluster));
    auto [sit, inserted] = streamFree.try_emplace(e.axes, 0.0);
    const std::string* stream = &sit->first;
    AxisStats& st = r.comm[e.axes];
    double start = std::max({in.time, sit->second, computeFree});
    double end = start + e.seconds;
    sit->second = end;
    st.count += 1;
    st.busySeconds += e.seconds;
    st.bytes += e.bytes;
    const bool async = opts.asyncCollectives || opts.asyncOps.count(&op);
    if (!async) {
      st.exposedSeconds += end - computeFree;
      computeFree = end;
    }
    for (int k = 0; k < op.numResults(); ++k) ready[op.result(k)] = {end, async ? stream : nullptr};
  }

  // The step ends when every stream has drained and every result is ready; what runs past the
  // last compute op is exposed on its stream.
  double end = computeFree;
  const std::string* last = nullptr;
  for (auto& [axes, free] : streamFree)
    if (free > end) end = free, last = &axes;
  for (const ir::Value* v : f.results()) {
    auto it = ready.find(v);
    if (it != ready.end() && it->second.time > end) end = it->second.time, last = it->second.stream;
  }
  if (end > computeFree && last) r.comm[*last].exposedSeconds += end - computeFree;
  r.stepSeconds = end;
  for (auto& [axes, s] : r.comm) r.exposedCommSeconds += s.exposedSeconds;

  ir::DType dominant = ir::DType::F32;
  double most = -1;
  for (auto& [t, fl] : gemmFlopsByType)
    if (fl > most) most = fl, dominant = t;
  r.peakFlops = cluster.device.peak(dominant);
  r.mfu = r.stepSeconds > 0 ? r.modelFlops / r.stepSeconds / r.peakFlops : 0;
  TRY_ASSIGN(r.memory, memoryProfile(f, opts.symbols, costs));
  return r;
}

}  // namespace tessera::partition::sim
