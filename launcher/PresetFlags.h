// The partitioning presets a user asks for with --parallel, --zero, --sequence-parallel and
// --expert-parallel, read into a PlanRequest and checked against the mesh. One reading for the
// SPMD path (DistributedTrain) and the pipeline path (PipelineTrain), so a flag means the same
// and is refused with the same words on both.
#pragma once

#include "ir/Mesh.h"
#include "ir/Status.h"
#include "launcher/DistributedPlan.h"
#include "launcher/DistributedTrain.h"

namespace tessera::launcher {

// Sets req.presets and req.presetsText (the flags as given, comma-separated; empty when none).
// Errors are usage errors naming the flag: an unknown --parallel item, or a preset whose axis the
// mesh lacks or is the pipeline axis "pp" (the presets split the other axes).
Status presetsFromFlags(const DistFlags& d, const ir::Mesh& mesh, PlanRequest& req);

}  // namespace tessera::launcher
