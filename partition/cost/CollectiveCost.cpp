// Collective times from ring algorithms over the network hierarchy (see CollectiveCost.h).
#include "partition/cost/CollectiveCost.h"

#include <algorithm>
#include <cassert>
#include <set>

namespace tessera::partition::cost {

const char* collectiveKindName(CollectiveKind k) {
  switch (k) {
    case CollectiveKind::AllReduce: return "all_reduce";
    case CollectiveKind::ReduceScatter: return "reduce_scatter";
    case CollectiveKind::AllGather: return "all_gather";
    case CollectiveKind::AllToAll: return "all_to_all";
    case CollectiveKind::Broadcast: return "broadcast";
    case CollectiveKind::SendRecv: return "send_recv";
  }
  return "?";
}

GroupShape groupShape(const std::vector<int64_t>& ids, const ClusterSpec& c) {
  GroupShape g;
  g.size = static_cast<int64_t>(ids.size());
  g.level = c.levelOf(ids);
  if (g.size <= 1 || c.levels.empty()) {
    g.factors = {g.size};
    return g;
  }
  // blocks[l] = distinct level-l blocks the group touches.
  std::vector<int64_t> blocks;
  for (int l = 0; l <= g.level; ++l) {
    std::set<int64_t> b;
    for (int64_t id : ids) b.insert(id / c.levels[static_cast<size_t>(l)].span);
    blocks.push_back(static_cast<int64_t>(b.size()));
  }
  int64_t prev = g.size;
  for (int l = 0; l <= g.level; ++l) {
    assert(prev % blocks[static_cast<size_t>(l)] == 0 && "irregular group");
    g.factors.push_back(prev / blocks[static_cast<size_t>(l)]);
    prev = blocks[static_cast<size_t>(l)];
  }
  assert(prev == 1);
  return g;
}

namespace {

StatusOr<std::vector<int64_t>> axisGroupAt(const ir::Mesh& mesh, const std::vector<std::string>& axes,
                                           const ClusterSpec& c, int64_t rank, const Location& loc) {
  auto error = [&](const std::string& m) { return loc.known() ? Status::error(loc, m) : Status::error(m); };
  if (mesh.numDevices() > c.numDevices())
    return error("mesh @" + mesh.name + " has " + std::to_string(mesh.numDevices()) +
                                       " devices but the cluster '" + c.name + "' only " +
                                       std::to_string(c.numDevices()));
  std::vector<bool> varies(mesh.axes.size(), false);
  for (const std::string& a : axes) {
    int i = mesh.axisIndex(a);
    if (i < 0) return error("mesh @" + mesh.name + " has no axis '" + a + "'");
    varies[static_cast<size_t>(i)] = true;
  }
  // Coordinates of `rank`, row-major.
  std::vector<int64_t> coord(mesh.axes.size());
  int64_t r = rank;
  for (size_t i = mesh.axes.size(); i-- > 0;) {
    coord[i] = r % mesh.axes[i].size;
    r /= mesh.axes[i].size;
  }
  std::vector<int64_t> ids{0};
  // Enumerate the group row-major: for each axis, either keep the coordinate or vary it.
  std::vector<int64_t> lin{0};
  for (size_t i = 0; i < mesh.axes.size(); ++i) {
    std::vector<int64_t> next;
    for (int64_t base : lin) {
      if (varies[i]) {
        for (int64_t x = 0; x < mesh.axes[i].size; ++x) next.push_back(base * mesh.axes[i].size + x);
      } else {
        next.push_back(base * mesh.axes[i].size + coord[i]);
      }
    }
    lin = std::move(next);
  }
  ids.clear();
  for (int64_t l : lin) ids.push_back(mesh.devices.empty() ? l : mesh.devices[static_cast<size_t>(l)]);
  for (int64_t id : ids)
    if (id < 0 || id >= c.numDevices())
      return error("mesh @" + mesh.name + " uses device " + std::to_string(id) +
                                         ", outside the cluster's " + std::to_string(c.numDevices()));
  return ids;
}

}  // namespace

StatusOr<std::vector<int64_t>> axisGroup(const ir::Mesh& mesh, const std::vector<std::string>& axes,
                                         const ClusterSpec& c, int64_t rank) {
  return axisGroupAt(mesh, axes, c, rank, mesh.loc);
}

double ringSeconds(CollectiveKind k, double bytes, int64_t n, const NetworkLevel& level) {
  if (n <= 1) return 0;
  const double nn = static_cast<double>(n);
  double factor = 0, steps = 0;
  switch (k) {
    case CollectiveKind::AllReduce: factor = 2 * (nn - 1) / nn; steps = 2 * (nn - 1); break;
    case CollectiveKind::ReduceScatter:
    case CollectiveKind::AllGather:
    case CollectiveKind::AllToAll: factor = (nn - 1) / nn; steps = nn - 1; break;
    case CollectiveKind::Broadcast: factor = 1; steps = nn - 1; break;
    case CollectiveKind::SendRecv: factor = 1; steps = 1; break;
  }
  return steps * level.latency + factor * bytes / level.effectiveBandwidth(bytes);
}

double flatSeconds(CollectiveKind k, double bytes, const GroupShape& g, const ClusterSpec& c) {
  if (g.size <= 1) return 0;
  assert(!c.levels.empty());
  return ringSeconds(k, bytes, g.size, c.levels[static_cast<size_t>(g.level)]);
}

double hierarchicalAllReduceSeconds(double bytes, const GroupShape& g, const ClusterSpec& c) {
  if (g.size <= 1) return 0;
  double t = 0, s = bytes;
  for (int l = 0; l < g.level; ++l) {
    const NetworkLevel& lv = c.levels[static_cast<size_t>(l)];
    const int64_t f = g.factors[static_cast<size_t>(l)];
    // reduce-scatter down, all-gather back up: the same volume twice.
    t += 2 * ringSeconds(CollectiveKind::ReduceScatter, s, f, lv);
    s /= static_cast<double>(f);
  }
  return t + ringSeconds(CollectiveKind::AllReduce, s, g.factors[static_cast<size_t>(g.level)],
                         c.levels[static_cast<size_t>(g.level)]);
}

CollectiveEstimate estimateCollective(CollectiveKind k, double bytes, const GroupShape& g,
                                      const ClusterSpec& c) {
  CollectiveEstimate e;
  e.kind = k;
  e.bytes = bytes;
  e.groupSize = g.size;
  e.level = g.level;
  e.seconds = flatSeconds(k, bytes, g, c);
  if (k == CollectiveKind::AllReduce && g.level > 0) {
    double h = hierarchicalAllReduceSeconds(bytes, g, c);
    if (h < e.seconds) e.seconds = h, e.hierarchical = true;
  }
  return e;
}

StatusOr<CollectiveEstimate> estimateCollectiveOp(const ir::Op& op, const SymbolValues& syms,
                                                  const ir::Mesh& mesh, const ClusterSpec& c) {
  using ir::OpKind;
  CollectiveKind k;
  const ir::TensorType* t = nullptr;
  switch (op.kind()) {
    case OpKind::AllReduce: k = CollectiveKind::AllReduce; t = &op.operand(0)->type(); break;
    case OpKind::ReduceScatter: k = CollectiveKind::ReduceScatter; t = &op.operand(0)->type(); break;
    case OpKind::AllGather: k = CollectiveKind::AllGather; t = &op.result(0)->type(); break;
    case OpKind::AllToAll: k = CollectiveKind::AllToAll; t = &op.operand(0)->type(); break;
    case OpKind::Broadcast: k = CollectiveKind::Broadcast; t = &op.operand(0)->type(); break;
    case OpKind::Send: k = CollectiveKind::SendRecv; t = &op.operand(0)->type(); break;
    case OpKind::Recv: k = CollectiveKind::SendRecv; t = &op.result(0)->type(); break;
    case OpKind::CollectivePermute: k = CollectiveKind::SendRecv; t = &op.operand(0)->type(); break;
    default:
      return Status::error(op.loc(), std::string("'") + op.mnemonic() + "' is not a collective");
  }
  TRY_ASSIGN(double bytes, tensorBytes(*t, syms, op.loc()));
  const std::vector<std::string>& axes = op.attrAs<ir::AxisList>("axes").axes;
  TRY_ASSIGN(auto ids, axisGroupAt(mesh, axes, c, 0, op.loc()));
  GroupShape g = groupShape(ids, c);
  // Send/recv talk to one peer: the pair, not the axis, decides the link.
  if (k == CollectiveKind::SendRecv && g.size > 1) {
    int64_t peer = op.kind() == OpKind::CollectivePermute ? 1 : op.intAttr("peer", 1);
    peer = std::clamp<int64_t>(peer, 0, g.size - 1);
    std::vector<int64_t> pair{ids[0], ids[static_cast<size_t>(peer == 0 ? 1 : peer)]};
    GroupShape p = groupShape(pair, c);
    CollectiveEstimate e = estimateCollective(k, bytes, GroupShape{2, p.level, p.factors}, c);
    for (const std::string& a : axes) e.axes += (e.axes.empty() ? "" : ",") + a;
    return e;
  }
  CollectiveEstimate e = estimateCollective(k, bytes, g, c);
  std::vector<std::string> sorted = axes;
  std::sort(sorted.begin(), sorted.end());
  for (const std::string& a : sorted) e.axes += (e.axes.empty() ? "" : ",") + a;
  return e;
}

}  // namespace tessera::partition::cost
