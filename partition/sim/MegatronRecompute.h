// Per-layer recompute mixes of a Megatron run (MegatronEstimate.h): which menu item (none /
// selective / full) each layer of each kind runs on each pipeline stage, and the per-layer terms
// the stage's time and memory are linear in — what the planner's recompute program optimises
// (partition/planner/RecomputeProgram.h).
//
// A run's mix (MegatronRun::mix) is given for the first stage, the one holding the most
// micro-batches. The other stages run the same items on the same layer positions; where a stage
// holds a different number of MoE layers (moeEvery not dividing a chunk), its MoE layers take the
// mix's MoE items first (full, selective, none), then the remaining positions in that order, and
// its dense layers take what is left. Without a mix, `recompute` with `fullRecomputeLayers` dense
// layers on full (the older form) is the mix.
#pragma once

#include "partition/sim/MegatronEstimate.h"

namespace tessera::partition::sim {

// The program of one layer (dense, or MoE when `moe`) of `run` on menu item `item`.
MegatronStageConfig layerConfigOf(const MegatronRun& run, bool moe, Recompute item);

// Errors: a mix whose layers are not the stage's, whose MoE layers are not the first stage's,
// or negative counts; fullRecomputeLayers outside 0..(dense layers of every stage).
Status checkRecomputeMix(const MegatronRun& run);

// The mix on pipeline rank r (the run must pass checkRecomputeMix).
RecomputeMix mixOnRank(const MegatronRun& run, int64_t r);

// One layer and one micro-batch of each kind on each item: forward + recompute + backward
// seconds and the activations it keeps for its backward. Kind 0 dense, 1 MoE; item by Recompute.
struct RecomputeTerms {
  double seconds[2][3] = {};
  double storedBytes[2][3] = {};
  int64_t layers[2] = {};        // the first stage's dense and MoE layers
};
StatusOr<RecomputeTerms> recomputeTerms(const MegatronRun& run, const cost::ClusterSpec& c, StageCache* cache);

}  // namespace tessera::partition::sim
