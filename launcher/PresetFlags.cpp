// Reading the preset flags (PresetFlags.h).
#include "launcher/PresetFlags.h"

#include <string>

#include "launcher/Commands.h"
#include "partition/presets/Presets.h"

namespace tessera::launcher {

Status presetsFromFlags(const DistFlags& d, const ir::Mesh& mesh, PlanRequest& req) {
  std::string text;
  auto append = [&](const std::string& item) { text += (text.empty() ? "" : ",") + item; };
  for (const std::string& p : d.parallel) {
    if (Status st = partition::parseParallelFlag(p, req.presets); !st.isOk())
      return Status::error(usageText(st.message()));
    append(p);
  }
  if (d.zero) {
    req.presets.zero = d.zero;
    req.presets.dataParallel = true;
    append("zero=" + std::to_string(d.zero));
  }
  if (d.sequenceParallel) {
    req.presets.sequenceParallel = true;
    append("sequence-parallel");
  }
  if (!d.expertAxis.empty()) {
    req.presets.expertAxis = d.expertAxis;
    append("expert-parallel=" + d.expertAxis);
  }
  const partition::PresetOptions& p = req.presets;
  auto check = [&](bool on, const std::string& axis, const std::string& flag) -> Status {
    if (!on) return Status::ok();
    if (!mesh.axisSize(axis))
      return Status::error(flag + ": the mesh --mesh " + d.mesh + " has no axis '" + axis + "'");
    if (axis == "pp")
      return Status::error(flag + ": '" + axis + "' is the pipeline axis; the presets split the other axes");
    return Status::ok();
  };
  TRY(check(p.dataParallel || p.zero, p.dpAxis, "--parallel dp/--zero"));
  TRY(check(p.megatron || p.sequenceParallel, p.tpAxis, "--parallel megatron/sequence-parallel"));
  TRY(check(!p.expertAxis.empty(), p.expertAxis, "--expert-parallel " + p.expertAxis));
  req.presetsText = text;
  return Status::ok();
}

}  // namespace tessera::launcher
