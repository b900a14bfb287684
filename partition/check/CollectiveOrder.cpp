// Compares, communicator by communicator, the collectives each rank's program issues; see
// CollectiveOrder.h.
#include "partition/check/CollectiveOrder.h"

#include <algorithm>
#include <map>

#include "ir/Op.h"
#include "partition/check/PointToPoint.h"
#include "partition/exec/Shards.h"

namespace tessera::partition {

std::string collectiveSignature(const ir::Op& op) {
  std::string s = op.mnemonic();
  for (const ir::Value* v : op.operands()) s += " " + v->type().str();
  s += " ->";
  for (int r = 0; r < op.numResults(); ++r) s += " " + op.result(r)->type().str();
  const auto& specs = op.info().attrs;
  for (size_t i = 0; i < specs.size(); ++i) {
    const auto& slot = op.attrSlot(static_cast<int>(i));
    if (!slot || std::string(specs[i].name) == "mesh") continue;
    s += std::string(" ") + specs[i].name + "=";
    if (auto* v = std::get_if<int64_t>(&*slot)) s += std::to_string(*v);
    else if (auto* l = std::get_if<std::vector<int64_t>>(&*slot)) s += ir::intListStr(*l);
    else if (auto* e = std::get_if<ir::EnumAttr>(&*slot)) s += e->str();
    else if (auto* a = std::get_if<ir::AxisList>(&*slot)) {
      s += "[";
      for (size_t k = 0; k < a->axes.size(); ++k) s += (k ? "," : "") + a->axes[k];
      s += "]";
    }
  }
  return s;
}

namespace {

using AxisNames = std::vector<std::string>;

// The collectives of one program by axis list, in program order.
std::map<AxisNames, std::vector<const ir::Op*>> collectivesOf(const ir::Function& f) {
  std::map<AxisNames, std::vector<const ir::Op*>> out;
  for (const auto& op : f.ops())
    if (op->info().isCollective() && op->kind() != ir::OpKind::Send && op->kind() != ir::OpKind::Recv)
      out[op->attrAs<ir::AxisList>("axes").axes].push_back(op.get());
  return out;
}

std::string axesStr(const AxisNames& axes) {
  std::string s = "[";
  for (size_t i = 0; i < axes.size(); ++i) s += (i ? "," : "") + axes[i];
  return s + "]";
}

std::string describe(const ir::Op* op) {
  return op ? "'" + collectiveSignature(*op) + "' at " + op->loc().str() : "nothing (its sequence ends)";
}

}  // namespace

Status checkCollectiveOrder(const ir::Mesh& mesh, const std::vector<const ir::Function*>& programs) {
  const int64_t n = mesh.numDevices();
  if (static_cast<int64_t>(programs.size()) != n)
    return Status::error("collective order check: mesh @" + mesh.name + " has " +
                         std::to_string(n) + " devices but " + std::to_string(programs.size()) +
                         " programs were given");
  std::vector<std::map<AxisNames, std::vector<const ir::Op*>>> calls;
  for (const ir::Function* f : programs) calls.push_back(collectivesOf(*f));
  for (int64_t r = 0; r < n; ++r) {
    std::vector<int64_t> coords = rankCoordinates(mesh, r);
    // Every axis list any rank uses: rank r is a member of that communicator either way.
    std::map<AxisNames, bool> lists;
    for (const auto& c : calls)
      for (const auto& [axes, ops] : c) lists[axes] = true;
    for (const auto& [axes, unused] : lists) {
      for (const std::string& a : axes)
        if (mesh.axisIndex(a) < 0)
          return Status::error("collective order check: mesh @" + mesh.name + " has no axis '" +
                               a + "'");
      // The group's first member: rank r with coordinate 0 on every axis of the list.
      std::vector<int64_t> lead = coords;
      for (const std::string& a : axes) lead[mesh.axisIndex(a)] = 0;
      int64_t q = 0;
      for (size_t i = 0; i < mesh.axes.size(); ++i) q = q * mesh.axes[i].size + lead[i];
      if (q == r) continue;
      auto seqOf = [&](int64_t rank) {
        auto it = calls[rank].find(axes);
        return it == calls[rank].end() ? std::vector<const ir::Op*>{} : it->second;
      };
      std::vector<const ir::Op*> mine = seqOf(r), theirs = seqOf(q);
      size_t len = std::max(mine.size(), theirs.size());
      for (size_t k = 0; k < len; ++k) {
        const ir::Op* a = k < mine.size() ? mine[k] : nullptr;
        const ir::Op* b = k < theirs.size() ? theirs[k] : nullptr;
        if (a && b && collectiveSignature(*a) == collectiveSignature(*b)) continue;
        std::string msg = "collective order mismatch on communicator " + axesStr(axes) +
                          " at position " + std::to_string(k) + ": rank " + std::to_string(r) +
                          " issues " + describe(a) + ", rank " + std::to_string(q) + " issues " +
                          describe(b);
        const ir::Op* at = a ? a : b;
        return at->loc().known() ? Status::error(at->loc(), msg) : Status::error(msg);
      }
    }
  }
  // Point-to-point messages and the interplay of communicators: the blocking simulation.
  return checkNoHang(mesh, programs);
}

}  // namespace tessera::partition
