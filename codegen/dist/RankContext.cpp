// RankContext (see RankContext.h): the mesh position of this rank and the per-axis-set
// communicators, split once, in sorted axis-set order, so every rank issues the same
// MPI_Comm_split sequence.
#include "codegen/dist/RankContext.h"

#include <set>

#include "comm/Mesh.h"
#include "ir/Op.h"

namespace tessera::codegen {

namespace {

// The mesh as comm/ describes it (comm/ does not know ir/).
comm::MeshDesc meshDesc(const ir::Mesh& mesh) {
  comm::MeshDesc d;
  for (const ir::MeshAxis& a : mesh.axes) d.axes.push_back({a.name, static_cast<int>(a.size)});
  return d;
}

bool usesAxes(const ir::Op& op) {
  return op.info().isCollective() || op.kind() == ir::OpKind::AxisIndex;
}

}  // namespace

RankContext::RankContext(comm::Communicator& world, ir::Mesh mesh)
    : world_(&world), mesh_(std::move(mesh)) {}

RankContext::~RankContext() = default;

StatusOr<std::unique_ptr<RankContext>> RankContext::create(comm::Communicator& world,
                                                           const ir::Mesh& mesh,
                                                           const ir::Function& local) {
  const std::string where = "rank context for @" + local.name() + " on mesh @" + mesh.name + ": ";
  TRY(mesh.check());
  if (mesh.isSubMesh() || !mesh.hasDefaultDeviceOrder())
    return Status::error(where + "only whole meshes in the default (row-major) device order run "
                                 "under MPI");
  if (mesh.numDevices() != world.size())
    return Status::error(where + "the mesh has " + std::to_string(mesh.numDevices()) +
                         " devices, but the job has " + std::to_string(world.size()) + " ranks");
  // Every axis set the program's collectives and axis_index ops name, checked against the mesh.
  std::set<std::vector<std::string>> axisSets;
  for (const auto& opPtr : local.ops()) {
    const ir::Op& op = *opPtr;
    if (!usesAxes(op)) continue;
    if (const ir::AttrValue* m = op.attr("mesh"); m && std::get<ir::MeshRef>(*m).name != mesh.name)
      return Status::error(op.loc(), std::string(op.mnemonic()) + ": runs on mesh @" +
                                         std::get<ir::MeshRef>(*m).name + ", this rank on @" +
                                         mesh.name);
    const auto& axes = op.attrAs<ir::AxisList>("axes").axes;
    if (axes.empty())
      return Status::error(op.loc(), std::string(op.mnemonic()) + ": names no mesh axes");
    std::set<std::string> seen;
    for (const std::string& a : axes) {
      if (!mesh.axisSize(a))
        return Status::error(op.loc(), std::string(op.mnemonic()) + ": mesh @" + mesh.name +
                                           " has no axis '" + a + "'");
      if (!seen.insert(a).second)
        return Status::error(op.loc(), std::string(op.mnemonic()) + ": axis '" + a +
                                           "' is listed twice");
    }
    axisSets.insert(axes);
  }
  std::unique_ptr<RankContext> ctx(new RankContext(world, mesh));
  comm::MeshDesc desc = meshDesc(mesh);
  for (const auto& axes : axisSets) {  // sorted: the same split sequence on every rank
    auto sub = comm::splitForAxes(world, desc, axes);
    if (!sub.isOk()) return Status::error(where + sub.status().message());
    ctx->byAxes_.emplace(axes, std::move(*sub));
  }
  return ctx;
}

int RankContext::worldRank() const { return world_->rank(); }

StatusOr<int64_t> RankContext::position(const std::vector<std::string>& axes) const {
  std::vector<int> coords = comm::meshCoords(meshDesc(mesh_), world_->rank());
  int64_t p = 0;
  for (const std::string& a : axes) {
    int i = mesh_.axisIndex(a);
    if (i < 0) return Status::error("mesh @" + mesh_.name + " has no axis '" + a + "'");
    p = p * mesh_.axes[i].size + coords[i];
  }
  return p;
}

StatusOr<comm::Communicator*> RankContext::communicator(const std::vector<std::string>& axes) const {
  auto it = byAxes_.find(axes);
  if (it == byAxes_.end()) {
    std::string names;
    for (const std::string& a : axes) names += (names.empty() ? "" : ",") + a;
    return Status::error("no communicator over axes [" + names + "] on mesh @" + mesh_.name +
                         ": RankContext::create splits only the axis sets its function uses");
  }
  return it->second.get();
}

}  // namespace tessera::codegen
