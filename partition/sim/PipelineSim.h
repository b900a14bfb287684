// A pipeline step simulated across its stages: one program per pipeline coordinate (the
// per-rank step functions of a pipeline plan, partition/pipeline/PipelineStep.h, which hold the
// schedule's micro-batches and their send/recv), run side by side with blocking point-to-point
// semantics — a send and its matching receive both complete at max(send issued, receive posted) +
// the transfer, as the engine's blocking MPI send/recv do for messages above MPI's eager limit
// (rendezvous). Messages up to SimOptions::eagerSendBytes (a loss scalar) are eager, as in MPI:
// the sender pays one transfer and goes on; the receive completes at max(posted, issued) + the
// transfer. So the bubble, the stages' imbalance and the waits come out of the actual schedule,
// not a formula.
//
// One rank per stage is enough: the ranks of a stage (its dp/tp peers) run the same program.
// Every op other than send/recv runs in program order on its rank, blocking (CPU ranks run
// blocking collectives, codegen/dist/DistDefaults.h), priced as Simulator.h prices it (with the
// given fusion rule). Matching: the k-th send from stage a to stage b pairs with the k-th receive
// at b from a (the order check of partition/pipeline/PipelineOrderCheck.h).
#pragma once

#include <vector>

#include "ir/Function.h"
#include "ir/Mesh.h"
#include "partition/cost/ClusterSpec.h"
#include "partition/sim/Simulator.h"

namespace tessera::partition::sim {

struct StageTimes {
  double endSeconds = 0;      // when the stage's last op finishes
  double computeSeconds = 0;  // busy on compute
  double commSeconds = 0;     // in collectives other than send/recv
  double waitSeconds = 0;     // blocked in send/recv beyond the transfer (bubble, imbalance)
  double p2pSeconds = 0;      // transfers
};

struct PipelineSimResult {
  double stepSeconds = 0;  // the slowest stage's end
  std::vector<StageTimes> stages;
};

// programs[i] runs on pipeline coordinate i along `axis` of `mesh`. Errors: a program or op that
// cannot be priced, a send/recv naming another axis, the programs hanging (no matching pair).
StatusOr<PipelineSimResult> simulatePipeline(const std::vector<const ir::Function*>& programs,
                                             const ir::Mesh& mesh, const std::string& axis,
                                             const cost::ClusterSpec& cluster, const SimOptions& opts);

}  // namespace tessera::partition::sim
