// The automatic planner: the fastest way to train a GPT-style transformer on a cluster within
// each device's memory. It searches data parallelism (with or without ZeRO-1), tensor
// parallelism (with or without sequence parallelism), pipeline stages and virtual stages, the
// micro-batch size (the count follows from the global batch) and activation recomputation per
// layer (none / selective / full, mixed within a stage), and prices each candidate with the
// simulator's Megatron step model (partition/sim/MegatronEstimate.h).
//
// Why it is fast: every layer of a stage runs the same per-rank program, so the repeated block
// is simulated once per distinct (tp, sequence parallel, micro-batch, recompute) and cached
// (sim::StageCache); a candidate plan is then a few arithmetic terms. Per-layer recomputation
// on a stage of a few distinct layer kinds (dense, MoE) is a counting problem: time and memory
// are linear in the number of layers of each kind on each menu item, so when a candidate does not
// fit on its menu item the planner solves the integer program of RecomputeProgram.h (CBC, or its
// exact fallback) for the fastest mix that fits, e.g. "1 none + 4 selective + 1 full" (the chain
// DP of PLANNER.md §3 collapses to it: layers of a kind are interchangeable). Stage placement is
// balanced (Megatron requires the layer count divisible by the stages).
//
// ZeRO stages 1-3 can be searched (memory per device by stage, MegatronEstimate.h prices their
// communication; 2 and 3 only when asked, see allowZero23). Mixture-of-experts models (moeEvery >
// 0) also search the expert-parallel degree ep: a divisor of dp that divides the experts (the ep
// group is inner to the data-parallel ranks, GShard style; MegatronEstimate.h prices the experts'
// compute, the all_to_all's and the expert states split ep ways). Limits (reported, not hidden):
// tp inside a node and a power of two.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/Status.h"
#include "partition/cost/ClusterSpec.h"
#include "partition/planner/RecomputeProgram.h"
#include "partition/sim/MegatronEstimate.h"

namespace tessera::partition::planner {

// A GPT-style transformer as the planner needs it.
struct TransformerShape {
  std::string name;
  int64_t layers = 0, hidden = 0, heads = 0, seq = 0, vocab = 0;
  int64_t ffn = 0;              // 0: 4 * hidden
  // Mixture of experts: 0 = dense; k = layers k-1, 2k-1, ... (the zoo's moe-gpt) route their MLP
  // to `experts` experts, top-k, with a capacity factor.
  int64_t moeEvery = 0, experts = 0, topK = 1;
  double capacityFactor = 1.0;
};

struct PlannerOptions {
  int64_t globalBatch = 0;      // sequences per step
  double memoryLimit = 0;       // bytes per device; 0: the device's memory
  // The menu. Megatron-LM SC'21's own menu is full recompute, no SP, no ZeRO (see megatronMenu).
  bool allowSequenceParallel = true;
  bool allowSelectiveRecompute = true;
  bool allowNoRecompute = true;
  bool allowZero1 = true;
  // ZeRO-2 and ZeRO-3 (gradients, then weights split over dp). Off by default: ZeRO-3's weight
  // gathers are priced as prefetched beside the compute while stages 0/1 reduce the gradients
  // after the last micro-batch (Megatron 2021), so ZeRO-3 would win on overlap the other stages
  // are not given; on for memory-bound searches.
  bool allowZero23 = false;
  bool allowInterleave = true;
  bool allowPipeline = true;
  int64_t maxTp = 8;
  int64_t maxEp = 1 << 20;      // largest expert-parallel degree searched
  int64_t maxMicroBatch = 16;
  bool localDdp = true;         // fp32 main gradients (Megatron's DDP=local); false: 16-bit grads
  ir::DType dtype = ir::DType::BF16;  // F32 for CPU ranks (fp32 training)
  int runnersUp = 4;
  // Which solver the per-layer recompute program uses (RecomputeProgram.h): CBC when built with
  // it, else the exact fallback; both return the same optimum.
  RecomputeSolver recomputeSolver = RecomputeSolver::Auto;
};

// Megatron-LM SC'21's menu: full recomputation only, no sequence parallelism, no ZeRO.
PlannerOptions megatronMenu(PlannerOptions o);

struct Plan {
  int64_t dp = 1, tp = 1, pp = 1, virtualStages = 1, microBatch = 1, microbatches = 1;
  int64_t ep = 1;                                   // expert parallel, inside dp
  sim::Recompute recompute = sim::Recompute::Full;  // most layers
  int64_t fullRecomputeLayers = 0;                  // per stage, the rest use `recompute`
  // Per-layer mix from the recompute program (sim::RecomputeMix): the first stage's dense and
  // MoE layers per menu item; empty: `recompute` (+ fullRecomputeLayers). `recompute` is then the
  // item of the stage programs holding the embedding and the output layer.
  sim::RecomputeMix mix{};
  bool sequenceParallel = false;
  int zero = 0;
  sim::MegatronPrediction prediction;
  // "dp=4 tp=8 pp=2 v=3 mb=2 m=24 sp remat=selective zero1"; a mix: "remat=1none+4sel+1full",
  // MoE layers after it: "moe:2full".
  std::string describe() const;
  // Launcher flags: `--mesh dp=4,tp=8 --parallel dp,megatron,sequence-parallel,zero=1`; experts
  // over the whole dp axis (ep = dp) are `expert-parallel=dp` (the launcher's presets split the
  // batch over dp only, so an ep group smaller than dp has no launcher flags: expertsLaunchable).
  std::string meshFlag() const;
  std::string parallelFlag() const;
  bool expertsLaunchable() const { return ep == 1 || ep == dp; }
};

struct PlanResult {
  Plan best;
  std::vector<Plan> runnersUp;   // next best, each a different (dp, tp, pp) or menu choice
  int64_t candidates = 0;        // plans priced
  int64_t rejectedMemory = 0;    // plans over the memory limit
  double minMemoryBytes = 0;     // the smallest memory any plan needs
  size_t blocksSimulated = 0;    // distinct layer programs simulated
  int64_t recomputePrograms = 0; // per-layer recompute programs solved (RecomputeProgram.h)
  double recomputeSeconds = 0;   // time spent solving them
  double searchSeconds = 0;
};

// Errors: a shape or batch that is not positive; no (dp, tp, pp, micro-batch) dividing the global
// batch and the layers ("no plan divides ..."); every plan over the memory limit ("needs at
// least X GB per device").
StatusOr<PlanResult> planTransformer(const TransformerShape& model, const cost::ClusterSpec& cluster,
                                     const PlannerOptions& options);

// The run of `plan` for the simulator (sim::predictMegatron).
sim::MegatronRun runOf(const TransformerShape& model, const Plan& plan, int64_t gpus,
                       const PlannerOptions& options);

}  // namespace tessera::partition::planner
