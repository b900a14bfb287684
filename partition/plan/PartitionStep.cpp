// partitionStep: presets → propagation → SPMD partitioning (PartitionStep.h).
#include "partition/plan/PartitionStep.h"

#include <set>

#include "partition/check/CollectiveOrder.h"
#include "partition/check/PointToPoint.h"
#include "partition/exec/Shards.h"
#include "partition/propagation/Propagation.h"

namespace tessera::partition {

StatusOr<PartitionedStep> partitionStep(ir::Module& m, const std::string& step,
                                        const PartitionStepOptions& o) {
  ir::Function* f = m.findFunction(step);
  if (!f) return Status::error("partition: the module has no function @" + step);
  TRY(o.mesh.check());
  TRY_ASSIGN(auto preset, presetAnnotations(m, *f, o.mesh, o.presets));
  const ir::Mesh* mesh = m.findMesh(o.mesh.name);  // presetAnnotations added it when absent
  if (!mesh) {
    m.meshes.push_back(o.mesh);
    mesh = &m.meshes.back();
  } else if (!(mesh->axes == o.mesh.axes)) {
    return Status::error("partition: the module already has a mesh @" + o.mesh.name +
                         " with other axes than the one requested");
  }
  PropagationOptions po;
  po.preset = std::move(preset);
  po.symbolValues = o.symbolValues;
  PartitionedStep out;
  TRY_ASSIGN(out.plan, propagateShardings(*f, *mesh, po));
  TRY_ASSIGN(out.program, partitionSpmd(*f, &out.plan));
  return out;
}

std::vector<const ir::Function*> PartitionedPrograms::rankPrograms() const {
  std::vector<const ir::Function*> out;
  for (int i : programOfRank) out.push_back(programs[i].local);
  return out;
}

StatusOr<PartitionedPrograms> partitionPrograms(ir::Module& m, const std::vector<std::string>& functions,
                                                const std::string& axis, const PartitionStepOptions& o) {
  TRY(o.mesh.check());
  std::vector<ir::Function*> fns;
  for (const std::string& name : functions) {
    ir::Function* f = m.findFunction(name);
    if (!f) return Status::error("partition: the module has no function @" + name);
    fns.push_back(f);
  }
  const int axisIndex = o.mesh.axisIndex(axis);
  if (axisIndex < 0)
    return Status::error("partition: mesh @" + o.mesh.name + " has no axis '" + axis + "'");
  if (o.mesh.axes[axisIndex].size != static_cast<int64_t>(fns.size()))
    return Status::error("partition: axis '" + axis + "' of mesh @" + o.mesh.name + " has size " +
                         std::to_string(o.mesh.axes[axisIndex].size) + " but " +
                         std::to_string(fns.size()) + " programs were given");
  for (const std::string* a : {&o.presets.dpAxis, &o.presets.tpAxis, &o.presets.expertAxis}) {
    bool on = a == &o.presets.dpAxis   ? (o.presets.dataParallel || o.presets.zero > 0)
              : a == &o.presets.tpAxis ? (o.presets.megatron || o.presets.sequenceParallel)
                                       : !a->empty();
    if (on && *a == axis)
      return Status::error("partition: a preset splits over '" + axis +
                           "', the axis the programs communicate along");
  }
  // The pipeline's own mesh may be just {axis: p} (PipelineStep.h adds one when the module has
  // none): the requested mesh, with the same pipeline axis, takes its place.
  ir::Mesh* existing = nullptr;
  for (ir::Mesh& mm : m.meshes)
    if (mm.name == o.mesh.name) existing = &mm;
  if (!existing) {
    m.meshes.push_back(o.mesh);
  } else if (!(existing->axes == o.mesh.axes)) {
    if (existing->axes.size() != 1 || existing->axes[0].name != axis ||
        existing->axes[0].size != o.mesh.axes[axisIndex].size)
      return Status::error("partition: the module already has a mesh @" + o.mesh.name +
                           " with other axes than the one requested");
    *existing = o.mesh;
  }
  const ir::Mesh* mesh = m.findMesh(o.mesh.name);
  std::map<const ir::Value*, ir::Sharding> preset;
  for (ir::Function* f : fns) {
    TRY_ASSIGN(auto p, presetAnnotations(m, *f, *mesh, o.presets));
    preset.insert(p.begin(), p.end());
  }
  PartitionedPrograms out;
  out.axis = axis;
  std::vector<const ir::Function*> globalOfRank;
  for (int64_t r = 0; r < mesh->numDevices(); ++r) {
    int i = static_cast<int>(rankCoordinates(*mesh, r)[axisIndex]);
    out.programOfRank.push_back(i);
    globalOfRank.push_back(fns[i]);
  }
  TRY_ASSIGN(std::vector<P2PMatch> matches, matchPointToPoint(*mesh, globalOfRank));
  // Every device of a function matches the same op pairs (they differ only off `axis`).
  std::set<std::pair<const ir::Op*, const ir::Op*>> pairs;
  for (const P2PMatch& mt : matches) pairs.insert({mt.send, mt.recv});
  PropagationOptions po;
  po.preset = std::move(preset);
  po.symbolValues = o.symbolValues;
  TRY_ASSIGN(out.plan, propagateShardingsJointly(fns, *mesh, {pairs.begin(), pairs.end()}, po));
  for (ir::Function* f : fns) {
    TRY_ASSIGN(SpmdProgram p, partitionSpmd(*f, &out.plan));
    out.programs.push_back(std::move(p));
  }
  TRY(checkCollectiveOrder(*out.programs[0].mesh, out.rankPrograms()));
  return out;
}

}  // namespace tessera::partition
