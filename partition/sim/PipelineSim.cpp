// Stages side by side with blocking send/recv (PipelineSim.h).
#include "partition/sim/PipelineSim.h"

#include <algorithm>
#include <deque>
#include <map>

#include "ir/Module.h"
#include "partition/cost/CollectiveCost.h"
#include "partition/cost/EngineFusion.h"
#include "partition/cost/ProgramCost.h"

namespace tessera::partition::sim {

namespace {

bool isP2P(const ir::Op& op) { return op.kind() == ir::OpKind::Send || op.kind() == ir::OpKind::Recv; }

struct OpTimes {
  std::vector<double> seconds;  // every op: compute by the roofline, collectives by the network
  std::vector<double> bytes;    // collectives (send/recv included): the message size
};

// Seconds of every op of `f` on one rank: compute by the roofline, collectives (send/recv
// included: their transfer) by the network model.
StatusOr<OpTimes> opSeconds(const ir::Function& f, const ir::Mesh& mesh,
                            const cost::ClusterSpec& c, const SimOptions& o) {
  std::vector<cost::OpCost> costs;
  if (o.fusion == cost::FusionRule::Engine) {
    TRY_ASSIGN(costs, cost::engineProgramCosts(f, o.symbols));
  } else {
    TRY_ASSIGN(costs, cost::programCosts(f, o.symbols, o.fuseElementwise));
  }
  OpTimes t;
  t.seconds.assign(costs.size(), 0.0);
  t.bytes.assign(costs.size(), 0.0);
  for (size_t i = 0; i < costs.size(); ++i) {
    const ir::Op& op = *f.ops()[i];
    if (!costs[i].isCollective) {
      t.seconds[i] = cost::computeSeconds(costs[i], c.device);
      continue;
    }
    const ir::Mesh* m = &mesh;
    if (const ir::AttrValue* mr = op.attr("mesh"); mr && f.module())
      if (const ir::Mesh* named = f.module()->findMesh(std::get<ir::MeshRef>(*mr).name)) m = named;
    TRY_ASSIGN(cost::CollectiveEstimate e, cost::estimateCollectiveOp(op, o.symbols, *m, c));
    t.seconds[i] = e.seconds;
    t.bytes[i] = e.bytes;
  }
  return t;
}

// An eager message in flight: issued by its sender at `issued`, taking `transfer` seconds.
struct Eager {
  double issued = 0, transfer = 0;
};

}  // namespace

StatusOr<PipelineSimResult> simulatePipeline(const std::vector<const ir::Function*>& programs,
                                             const ir::Mesh& mesh, const std::string& axis,
                                             const cost::ClusterSpec& cluster, const SimOptions& opts) {
  const size_t n = programs.size();
  std::vector<std::vector<double>> secs(n), bytes(n);
  for (size_t r = 0; r < n; ++r) {
    TRY_ASSIGN(OpTimes t, opSeconds(*programs[r], mesh, cluster, opts));
    secs[r] = std::move(t.seconds);
    bytes[r] = std::move(t.bytes);
    for (const auto& op : programs[r]->ops())
      if (isP2P(*op)) {
        const auto& axes = op->attrAs<ir::AxisList>("axes").axes;
        if (axes.size() != 1 || axes[0] != axis)
          return Status::error(op->loc(), "pipeline simulation: send/recv must name the pipeline axis '" +
                                              axis + "'");
        const int64_t peer = op->intAttr("peer");
        if (peer < 0 || peer >= static_cast<int64_t>(n) || peer == static_cast<int64_t>(r))
          return Status::error(op->loc(), "pipeline simulation: stage " + std::to_string(r) +
                                              " talks to stage " + std::to_string(peer) + " of " +
                                              std::to_string(n));
      }
  }
  PipelineSimResult res;
  res.stages.assign(n, {});
  std::vector<size_t> pc(n, 0);
  std::vector<double> now(n, 0.0);
  // Runs rank r up to its next send/recv (or its end).
  auto advance = [&](size_t r) {
    const auto& ops = programs[r]->ops();
    while (pc[r] < ops.size() && !isP2P(*ops[pc[r]])) {
      const double d = secs[r][pc[r]];
      now[r] += d;
      (ops[pc[r]]->info().isCollective() ? res.stages[r].commSeconds : res.stages[r].computeSeconds) += d;
      ++pc[r];
    }
  };
  for (size_t r = 0; r < n; ++r) advance(r);
  // Eager messages sent but not yet received, by (sender, receiver), in program order: the k-th
  // receive from a peer takes the k-th message, so a receive drains these before it can pair
  // with a rendezvous send.
  std::map<std::pair<size_t, size_t>, std::deque<Eager>> inFlight;
  bool progress = true;
  while (progress) {
    progress = false;
    for (size_t r = 0; r < n; ++r) {
      const auto& ops = programs[r]->ops();
      if (pc[r] >= ops.size()) continue;
      if (ops[pc[r]]->kind() == ir::OpKind::Recv) {
        // An eager message already sent: the receive completes once it has arrived and been
        // copied out (one transfer after max(posted, issued)).
        auto it = inFlight.find({static_cast<size_t>(ops[pc[r]]->intAttr("peer")), r});
        if (it == inFlight.end() || it->second.empty()) continue;
        const Eager e = it->second.front();
        it->second.pop_front();
        const double start = std::max(now[r], e.issued);
        res.stages[r].waitSeconds += start - now[r];
        res.stages[r].p2pSeconds += e.transfer;
        now[r] = start + e.transfer;
        ++pc[r];
        advance(r);
        progress = true;
        continue;
      }
      if (ops[pc[r]]->kind() != ir::OpKind::Send) continue;
      const ir::Op& send = *ops[pc[r]];
      const auto q = static_cast<size_t>(send.intAttr("peer"));
      if (opts.eagerSendBytes > 0 && bytes[r][pc[r]] <= opts.eagerSendBytes) {
        // Eager: the sender copies the message out and goes on.
        const double transfer = secs[r][pc[r]];
        inFlight[{r, q}].push_back({now[r], transfer});
        res.stages[r].p2pSeconds += transfer;
        now[r] += transfer;
        ++pc[r];
        advance(r);
        progress = true;
        continue;
      }
      const auto& qops = programs[q]->ops();
      if (pc[q] >= qops.size() || qops[pc[q]]->kind() != ir::OpKind::Recv ||
          static_cast<size_t>(qops[pc[q]]->intAttr("peer")) != r)
        continue;
      if (auto it = inFlight.find({r, q}); it != inFlight.end() && !it->second.empty())
        continue;  // q's receive takes an earlier eager message first
      const double transfer = secs[r][pc[r]];
      const double start = std::max(now[r], now[q]), end = start + transfer;
      res.stages[r].waitSeconds += start - now[r];
      res.stages[q].waitSeconds += start - now[q];
      res.stages[r].p2pSeconds += transfer;
      res.stages[q].p2pSeconds += transfer;
      now[r] = now[q] = end;
      ++pc[r];
      ++pc[q];
      advance(r);
      advance(q);
      progress = true;
    }
  }
  for (size_t r = 0; r < n; ++r) {
    if (pc[r] < programs[r]->ops().size())
      return Status::error(programs[r]->ops()[pc[r]]->loc(),
                           "pipeline simulation: the stages hang: stage " + std::to_string(r) +
                               " waits at a " + programs[r]->ops()[pc[r]]->mnemonic() +
                               " nothing matches");
    res.stages[r].endSeconds = now[r];
    res.stepSeconds = std::max(res.stepSeconds, now[r]);
  }
  for (const auto& [pair, q] : inFlight)
    if (!q.empty())
      return Status::error(programs[pair.first]->loc,
                           "pipeline simulation: stage " + std::to_string(pair.first) + " sends " +
                               std::to_string(q.size()) + " more message(s) to stage " +
                               std::to_string(pair.second) + " than it receives");
  return res;
}

}  // namespace tessera::partition::sim
