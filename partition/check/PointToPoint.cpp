// Pairing sends with receives and the blocking simulation of every rank's communication; see
// PointToPoint.h.
#include "partition/check/PointToPoint.h"

#include <deque>
#include <map>

#include "ir/Op.h"
#include "partition/check/CollectiveOrder.h"
#include "partition/exec/Shards.h"

namespace tessera::partition {

namespace {

bool isP2P(const ir::Op& op) { return op.kind() == ir::OpKind::Send || op.kind() == ir::OpKind::Recv; }

std::string describe(const ir::Op& op) {
  return "'" + collectiveSignature(op) + "'" + (op.loc().known() ? " at " + op.loc().str() : "");
}

Status checkAxes(const ir::Mesh& mesh, const ir::Op& op) {
  for (const std::string& a : op.attrAs<ir::AxisList>("axes").axes)
    if (mesh.axisIndex(a) < 0)
      return Status::error(op.loc(), std::string(op.mnemonic()) + ": mesh @" + mesh.name +
                                         " has no axis '" + a + "'");
  return Status::ok();
}

Status typeMismatch(const ir::Op& send, int64_t from, const ir::Op& recv, int64_t to) {
  return Status::error(recv.loc(), "rank " + std::to_string(from) + " sends " +
                                       send.operand(0)->type().str() + " (" + describe(send) +
                                       ") but rank " + std::to_string(to) + " receives " +
                                       recv.result()->type().str() + " (" + describe(recv) + ")");
}

}  // namespace

StatusOr<int64_t> peerOf(const ir::Mesh& mesh, int64_t rank, const ir::Op& op) {
  TRY(checkAxes(mesh, op));
  const auto& axes = op.attrAs<ir::AxisList>("axes").axes;
  int64_t n = 1;
  for (const std::string& a : axes) n *= *mesh.axisSize(a);
  const int64_t peer = op.intAttr("peer");
  if (peer < 0 || peer >= n)
    return Status::error(op.loc(), std::string(op.mnemonic()) + ": peer " + std::to_string(peer) +
                                       " is outside its group of " + std::to_string(n) + " ranks");
  int64_t q = groupMember(mesh, rank, axes, peer);
  if (q == rank)
    return Status::error(op.loc(), "rank " + std::to_string(rank) + " " + op.mnemonic() +
                                       "s to itself: " + describe(op));
  return q;
}

StatusOr<std::vector<P2PMatch>> matchPointToPoint(const ir::Mesh& mesh,
                                                  const std::vector<const ir::Function*>& programs) {
  const int64_t n = mesh.numDevices();
  if (static_cast<int64_t>(programs.size()) != n)
    return Status::error("point-to-point matching: mesh @" + mesh.name + " has " + std::to_string(n) +
                         " devices but " + std::to_string(programs.size()) + " programs were given");
  // Per link (from, to): the sends and the receives in program order.
  std::map<std::pair<int64_t, int64_t>, std::deque<const ir::Op*>> sends, recvs;
  for (int64_t r = 0; r < n; ++r)
    for (const auto& op : programs[r]->ops()) {
      if (!isP2P(*op)) continue;
      TRY_ASSIGN(int64_t q, peerOf(mesh, r, *op));
      if (op->kind() == ir::OpKind::Send) sends[{r, q}].push_back(op.get());
      else recvs[{q, r}].push_back(op.get());
    }
  std::vector<P2PMatch> out;
  auto unmatched = [](const ir::Op* op, int64_t r, const char* what, int64_t q) {
    return Status::error(op->loc(), "rank " + std::to_string(r) + "'s " + describe(*op) + " has no matching " +
                                        what + " on rank " + std::to_string(q));
  };
  for (auto& [link, ss] : sends) {
    auto& rs = recvs[link];
    for (size_t k = 0; k < ss.size(); ++k) {
      if (k >= rs.size()) return unmatched(ss[k], link.first, "receive", link.second);
      if (ss[k]->operand(0)->type() != rs[k]->result()->type())
        return typeMismatch(*ss[k], link.first, *rs[k], link.second);
      out.push_back(P2PMatch{ss[k], rs[k], link.first, link.second});
    }
  }
  for (auto& [link, rs] : recvs) {
    size_t have = sends.count(link) ? sends[link].size() : 0;
    if (rs.size() > have) return unmatched(rs[have], link.second, "send", link.first);
  }
  return out;
}

Status checkNoHang(const ir::Mesh& mesh, const std::vector<const ir::Function*>& programs) {
  const int64_t n = mesh.numDevices();
  if (static_cast<int64_t>(programs.size()) != n)
    return Status::error("hang check: mesh @" + mesh.name + " has " + std::to_string(n) +
                         " devices but " + std::to_string(programs.size()) + " programs were given");
  std::vector<std::vector<const ir::Op*>> comm(n);
  for (int64_t r = 0; r < n; ++r)
    for (const auto& op : programs[r]->ops())
      if (op->info().isCollective()) {
        TRY(checkAxes(mesh, *op));
        comm[r].push_back(op.get());
      }
  std::vector<size_t> pc(n, 0);
  auto at = [&](int64_t r) -> const ir::Op* { return pc[r] < comm[r].size() ? comm[r][pc[r]] : nullptr; };
  bool progress = true;
  while (progress) {
    progress = false;
    for (int64_t r = 0; r < n; ++r) {
      const ir::Op* op = at(r);
      if (!op || op->kind() == ir::OpKind::Recv) continue;  // receives complete from the sender
      const auto& axes = op->attrAs<ir::AxisList>("axes").axes;
      if (op->kind() == ir::OpKind::Send) {
        TRY_ASSIGN(int64_t q, peerOf(mesh, r, *op));
        const ir::Op* recv = at(q);
        if (!recv || recv->kind() != ir::OpKind::Recv) continue;
        TRY_ASSIGN(int64_t from, peerOf(mesh, q, *recv));
        if (from != r) continue;
        if (op->operand(0)->type() != recv->result()->type()) return typeMismatch(*op, r, *recv, q);
        ++pc[r];
        ++pc[q];
        progress = true;
        continue;
      }
      // A collective completes when every member of its group stands at a collective over the
      // same axes (the per-communicator comparison has proven their signatures equal).
      int64_t size = 1;
      for (const std::string& a : axes) size *= *mesh.axisSize(a);
      std::vector<int64_t> members;
      bool ready = true;
      for (int64_t p = 0; p < size && ready; ++p) {
        int64_t q = groupMember(mesh, r, axes, p);
        const ir::Op* other = at(q);
        ready = other && !isP2P(*other) && other->attrAs<ir::AxisList>("axes").axes == axes;
        if (ready && collectiveSignature(*other) != collectiveSignature(*op))
          return Status::error(other->loc(), "collective mismatch: rank " + std::to_string(r) + " issues " +
                                                 describe(*op) + ", rank " + std::to_string(q) + " issues " +
                                                 describe(*other));
        members.push_back(q);
      }
      if (!ready) continue;
      for (int64_t q : members) ++pc[q];
      progress = true;
    }
  }
  std::string stuck;
  for (int64_t r = 0; r < n; ++r)
    if (const ir::Op* op = at(r))
      stuck += (stuck.empty() ? "" : "; ") + std::string("rank ") + std::to_string(r) + " waits at its " +
               std::to_string(pc[r]) + (isP2P(*op) ? "-th send/recv " : "-th communication ") + describe(*op);
  if (!stuck.empty()) return Status::error("the programs hang: " + stuck);
  return Status::ok();
}

}  // namespace tessera::partition
