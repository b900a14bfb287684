// partitionStep: presets → propagation → SPMD partitioning (PartitionStep.h).
#include "partition/plan/PartitionStep.h"

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

}  // namespace tessera::partition
