// Send/recv pairing by simulation, plus the collective check on the rest (PipelineOrderCheck.h).
#include "partition/pipeline/PipelineOrderCheck.h"

#include <memory>
#include <unordered_map>

#include "ir/Module.h"
#include "partition/check/CollectiveOrder.h"
#include "partition/exec/Shards.h"

namespace tessera::partition::pipeline {

namespace {

bool isP2P(const ir::Op& op) { return op.kind() == ir::OpKind::Send || op.kind() == ir::OpKind::Recv; }

// The rank at position `peer` of r's group along `axes` (row-major over the listed axes).
int64_t peerRank(const ir::Mesh& mesh, int64_t r, const std::vector<std::string>& axes, int64_t peer) {
  std::vector<int64_t> coords = rankCoordinates(mesh, r);
  for (size_t k = axes.size(); k-- > 0;) {
    int i = mesh.axisIndex(axes[k]);
    int64_t size = mesh.axes[i].size;
    coords[i] = peer % size;
    peer /= size;
  }
  int64_t q = 0;
  for (size_t i = 0; i < mesh.axes.size(); ++i) q = q * mesh.axes[i].size + coords[i];
  return q;
}

std::string describe(const ir::Op* op) {
  return "'" + collectiveSignature(*op) + "'" + (op->loc().known() ? " at " + op->loc().str() : "");
}

// A copy of `f` without send/recv (each received value becomes an argument), in `m`.
StatusOr<const ir::Function*> withoutP2P(const ir::Function& f, ir::Module& m) {
  ir::Function* g = m.addFunction(f.name());
  std::unordered_map<const ir::Value*, ir::Value*> map;
  for (int i = 0; i < f.numArguments(); ++i)
    map[f.argument(i)] = g->addArgument(f.argument(i)->type(), f.argument(i)->name());
  for (const auto& op : f.ops()) {
    if (op->kind() == ir::OpKind::Send) continue;
    if (op->kind() == ir::OpKind::Recv) {
      map[op->result()] = g->addArgument(op->result()->type());
      continue;
    }
    ir::OpSpec spec{op->kind(), {}, {}, {}, op->loc()};
    for (const ir::Value* v : op->operands()) spec.operands.push_back(map.at(v));
    const auto& specs = op->info().attrs;
    for (size_t i = 0; i < specs.size(); ++i)
      if (const auto& a = op->attrSlot(static_cast<int>(i))) spec.attrs.emplace_back(specs[i].name, *a);
    for (int r = 0; r < op->numResults(); ++r) spec.declared.push_back(op->result(r)->type());
    TRY_ASSIGN(ir::Op * copy, g->addOp(std::move(spec)));
    for (int r = 0; r < op->numResults(); ++r) map[op->result(r)] = copy->result(r);
  }
  return g;
}

}  // namespace

Status checkPipelineOrder(const ir::Mesh& mesh, const std::vector<const ir::Function*>& programs) {
  const int64_t n = mesh.numDevices();
  if (static_cast<int64_t>(programs.size()) != n)
    return Status::error("pipeline order check: mesh @" + mesh.name + " has " + std::to_string(n) +
                         " devices but " + std::to_string(programs.size()) + " programs were given");
  // Point to point: each rank's send/recv in program order, run with blocking semantics.
  std::vector<std::vector<const ir::Op*>> p2p(n);
  for (int64_t r = 0; r < n; ++r)
    for (const auto& op : programs[r]->ops())
      if (isP2P(*op)) {
        for (const std::string& a : op->attrAs<ir::AxisList>("axes").axes)
          if (mesh.axisIndex(a) < 0)
            return Status::error(op->loc(), "pipeline order check: mesh @" + mesh.name + " has no axis '" + a + "'");
        p2p[r].push_back(op.get());
      }
  std::vector<size_t> pc(n, 0);
  bool progress = true;
  while (progress) {
    progress = false;
    for (int64_t r = 0; r < n; ++r) {
      if (pc[r] >= p2p[r].size()) continue;
      const ir::Op* send = p2p[r][pc[r]];
      if (send->kind() != ir::OpKind::Send) continue;  // receives complete from the sender's side
      const auto& axes = send->attrAs<ir::AxisList>("axes").axes;
      int64_t q = peerRank(mesh, r, axes, send->intAttr("peer"));
      if (q == r)
        return Status::error(send->loc(), "pipeline order check: rank " + std::to_string(r) + " sends to itself: " + describe(send));
      if (pc[q] >= p2p[q].size()) continue;
      const ir::Op* recv = p2p[q][pc[q]];
      if (recv->kind() != ir::OpKind::Recv) continue;
      if (peerRank(mesh, q, recv->attrAs<ir::AxisList>("axes").axes, recv->intAttr("peer")) != r) continue;
      if (send->operand(0)->type() != recv->result()->type())
        return Status::error(recv->loc(), "pipeline order check: rank " + std::to_string(r) + " sends " +
                                              send->operand(0)->type().str() + " (" + describe(send) + ") but rank " +
                                              std::to_string(q) + " receives " + recv->result()->type().str() +
                                              " (" + describe(recv) + ")");
      ++pc[r];
      ++pc[q];
      progress = true;
    }
  }
  std::string stuck;
  for (int64_t r = 0; r < n; ++r)
    if (pc[r] < p2p[r].size())
      stuck += (stuck.empty() ? "" : "; ") + std::string("rank ") + std::to_string(r) + " waits at its " +
               std::to_string(pc[r]) + "-th send/recv " + describe(p2p[r][pc[r]]);
  if (!stuck.empty()) return Status::error("pipeline order check: the programs hang: " + stuck);

  // Collectives: the usual check, on copies without the point-to-point ops.
  ir::Module scratch("pipeline-order-check");
  scratch.meshes.push_back(mesh);
  const ir::Module* owner = programs.empty() ? nullptr : programs[0]->module();
  if (owner) {
    scratch.symbols = owner->symbols;
    for (const ir::Mesh& m : owner->meshes)
      if (m.name != mesh.name) scratch.meshes.push_back(m);
  }
  std::vector<const ir::Function*> rest;
  for (const ir::Function* f : programs) {
    TRY_ASSIGN(const ir::Function* g, withoutP2P(*f, scratch));
    rest.push_back(g);
  }
  return checkCollectiveOrder(mesh, rest);
}

}  // namespace tessera::partition::pipeline
