// The ordering check for pipelines: the per-rank programs of a pipeline (RankPrograms.h) hold
// point-to-point send/recv ops besides any collectives of the stages' own SPMD partitioning.
//
// Collectives are checked by partition/check/CollectiveOrder.h (every member of a communicator
// issues the same sequence). Send and receive are not collectives — the two ends issue different
// ops — so they are checked here by running the programs' send/recv sequences with blocking
// semantics: a send completes only when its peer stands at a receive from the sender with the
// same type. A plan passes when every program reaches its end; otherwise the error names the
// ranks and the ops they are stuck at (a hang at run time), or the first pair whose types differ
// (silently mixed data).
#pragma once

#include <vector>

#include "ir/Function.h"
#include "ir/Mesh.h"

namespace tessera::partition::pipeline {

// programs[r] is rank r's program (row-major mesh coordinates). OK, or the first problem.
Status checkPipelineOrder(const ir::Mesh& mesh, const std::vector<const ir::Function*>& programs);

}  // namespace tessera::partition::pipeline
