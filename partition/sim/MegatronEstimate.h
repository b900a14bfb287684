// End-to-end step time and memory of a Megatron-LM GPT training run (tensor (+ sequence) x
// pipeline x data parallel, ZeRO-1, no / selective / full recomputation, 1F1B with optional
// interleaving), assembled from simulated per-rank programs — the first validation of the cost model against published measurements
// (REFERENCE.md, Megatron-LM SC'21 Table 1) before the SPMD partitioner and the pipeline
// scheduler exist.
//
// The repeated block is solved once: one layer's per-rank program (MegatronProgram.h) is
// simulated, and a stage of L/p layers costs L/p times that, plus the embedding on the first
// stage and the output layer on the last (each simulated once with one layer). Then
//   step = (m + (p-1)/v) * T_microbatch(slowest stage)   1F1B with v virtual stages
//        + m * 2v * p2p                                   activations/gradients between stages,
//                                                         b*s*h/t bytes (scatter-gather), then an
//                                                         all-gather over tp (none with SP)
//        + DP gradient all-reduce (fp32 main gradients under DDP=local, else 16-bit; ZeRO-1:
//          reduce-scatter of the gradients + all-gather of the 16-bit weights; ZeRO-2: a
//          reduce-scatter per micro-batch + the all-gather; ZeRO-3: per micro-batch weight
//          all-gathers (forward, backward, recompute) and a gradient reduce-scatter, overlapped
//          with the micro-batch's compute, only the excess exposed)
//        + tied-embedding all-reduce
//        + optimizer: unscale/inf check, gradient norm, Adam (on 1/d of the state with ZeRO-1)
// with m = global batch / (micro-batch * d). Not overlapped: Megatron of 2021 issues the
// gradient all-reduce after the last micro-batch (DDP=local). Every figure comes from the
// cluster spec; nothing is fitted per row.
//
// Memory per device (the first pipeline stage, which holds the most micro-batches): weights,
// gradients and optimizer state of its layers (2 + 2|4 + 12 bytes per parameter; ZeRO-1 splits
// the 12 d ways, ZeRO-2 also the gradients, ZeRO-3 also the weights, plus two layers' gathered
// weights), plus the activations each layer stores for its backward — counted from the
// layer program (values the forward defines and the backward reads) — times the layers in flight
// under the schedule, L(1 + (p-1)/(p v)) layers' worth (Korthikanti et al. 2022) capped by m,
// plus the transient peak of one layer's program.
//
// Mixture of experts (moeEvery > 0: the MLP of every moeEvery-th layer is `experts` experts, top-k
// routed with a capacity factor, split over `ep` ranks inside the data-parallel group): the MoE
// layer's program (MegatronProgram.h) is simulated once like the dense one, and a stage with n_moe
// such layers costs n_moe times the difference more. Its expert weights are replicated over dp/ep
// ranks only: their gradients are reduced (and their ZeRO state split) over that group, the dense
// ones over all d. Rank order: tp adjacent, then ep, then dp/ep, then pp — an ep group stays in a
// node while ep*tp fits in one. The all_to_all's (dispatch and combine, forward, backward and a
// recomputed forward) are priced by the simulator from the program: (n-1)/n of the S*h slot rows
// per rank over the slowest link the ep group crosses, plus (n-1) latencies.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include "partition/cost/ClusterSpec.h"
#include "partition/sim/MegatronProgram.h"

namespace tessera::partition::sim {

// A per-layer recompute choice for a stage: how many of its dense and MoE layers run each menu
// item, indexed by Recompute (none, selective, full). MegatronRecompute.h says how the other
// stages follow the first.
struct RecomputeMix {
  std::array<int64_t, 3> dense{}, moe{};
  bool empty() const;      // no layers: not given
  int64_t layers() const;
};

struct MegatronRun {
  std::string name;
  int64_t layers = 0, hidden = 0, heads = 0, tp = 1, pp = 1, gpus = 1, globalBatch = 1;
  int64_t microBatch = 1;
  int64_t virtualStages = 1;
  double publishedTflops = 0;   // per GPU, 0 if unknown
  bool localDdp = false;        // DDP=local: fp32 main-gradient accumulation per micro-batch
  int64_t seq = 2048, vocab = 51200;
  Recompute recompute = Recompute::Full;
  bool sequenceParallel = false;
  int zero = 0;                 // ZeRO stage over dp: 1 optimizer state (Megatron's distributed
                                // optimizer), 2 also gradients, 3 also weights
  int64_t fullRecomputeLayers = 0;  // per stage: layers fully recomputed, the rest use `recompute`
  // Per-layer recompute mix of the first stage (MegatronRecompute.h); when given it replaces
  // `fullRecomputeLayers` and `recompute` for the layers; the embedding's and output layer's
  // stage programs (their transient peak and overhead) still run `recompute`.
  RecomputeMix mix{};
  ir::DType dtype = ir::DType::BF16;  // weights and activations; F32: fp32 training (CPU ranks)
  // Megatron 2022's gradient-accumulation fusion: the weight-gradient GEMM accumulates straight
  // into the fp32 main gradient, with no separate add pass per micro-batch.
  bool fusedGradAccumulation = false;
  double publishedSeconds = 0;  // iteration time, 0 if unknown
  int64_t ffn = 0;              // MLP width; 0: 4 * hidden
  int64_t moeEvery = 0;         // 0: dense; k: layers k-1, 2k-1, ... have an MoE MLP
  int64_t experts = 0, topK = 1;
  double capacityFactor = 1.0;
  int64_t ep = 1;               // expert-parallel degree: divides dp and experts
};

// MoE layers among `count` consecutive layers starting at `first` (layer l is MoE when
// (l + 1) % moeEvery == 0).
int64_t moeLayersIn(int64_t first, int64_t count, int64_t moeEvery);
// MoE layers on pipeline rank r: its v chunks of L/(p v) layers, chunk j = r + i p.
int64_t moeLayersOnRank(const MegatronRun& run, int64_t r);
// The most MoE layers any pipeline rank of `run` holds (its v chunks of L/(p v) layers).
int64_t maxMoeLayersPerRank(const MegatronRun& run);

// Korthikanti et al. 2022 Table 5 (iteration seconds), the full-recompute runs; `withSpSelective`
// gives the same runs with sequence parallelism and selective recomputation.
std::vector<MegatronRun> korthikantiTable5(bool withSpSelective);

// The ten rows of SC'21 Table 1 with the plans of NVIDIA's examples/sc21/run_table_1.sh.
const std::vector<MegatronRun>& sc21Table1();

struct MegatronPrediction {
  double stepSeconds = 0;
  double tflopsPerGpu = 0;          // Megatron's formula: 96 B s L h^2 (1 + s/6h + V/16Lh)
  double layerSeconds = 0;          // one layer, one micro-batch: forward + recompute + backward
  double layerExposedTpSeconds = 0;
  double microbatchSeconds = 0;     // slowest stage, one micro-batch
  double bubbleSeconds = 0;
  double p2pSeconds = 0;
  double dataParallelSeconds = 0;
  double optimizerSeconds = 0;
  double peakMemoryBytes = 0;       // first stage: states + activations in flight + transient
  double stateBytes = 0;            // weights, gradients, optimizer state
  double activationBytes = 0;       // stored for backward, all micro-batches in flight
  double activationBytesPerLayer = 0;  // one layer, one micro-batch (from the layer program)
  double modelFlops = 0;            // Megatron's count without recomputation, whole step
  int64_t microbatches = 0;
  double simulateSeconds = 0;       // wall time spent building and simulating
  // Per end stage (the first, then the last; one stage when pp = 1): its peak memory is
  // fixedBytes + storedMultiplier * (the activations its layers keep for backward, one
  // micro-batch each) — linear in the recompute mix, for the planner's recompute program.
  struct StageMemory {
    double fixedBytes = 0, storedMultiplier = 0;
  };
  std::vector<StageMemory> endStageMemory;
};

// One stage program (one layer, optionally with the embedding / the output layer) simulated
// once: the repeated block is solved once and reused by every plan that shares it.
struct LayerSim {
  double seconds = 0;           // forward + recompute + backward of one micro-batch
  double exposedTpSeconds = 0;
  double params = 0;            // local parameters
  double storedBytes = 0;       // activations one layer keeps for its backward, per micro-batch
  double peakBytes = 0;         // peak by liveness of the program (its weights included)
  double expertParams = 0;      // of `params`, expert weights
};
class StageCache {
 public:
  // Simulated on `c` (which must not change between calls on one cache).
  StatusOr<LayerSim> get(const MegatronStageConfig& s, const cost::ClusterSpec& c);
  size_t size() const { return cache_.size(); }
 private:
  std::map<std::string, LayerSim> cache_;
};

// Megatron's FLOPs of one step (Narayanan et al. 2021): 72 B s L h^2 (1 + s/6h + V/12Lh) without
// recomputation; 96 (and V/16Lh) when `fullRecompute` counts the recomputed forward. An MLP of
// width f != 4h adds 3 (4) * 4 B s L h (f - 4h); each MoE layer's top-k experts add
// 3 (4) * 4 B s h f (k - 1) (active FLOPs: capacity padding and the router are not model FLOPs).
double megatronFlops(const MegatronRun& run, bool fullRecompute);

// Errors: a plan that does not divide (gpus by tp*pp, layers by pp*v, the batch by d*b, m by p
// when interleaved, d or the experts by ep), tp wider than a node, or a cluster with fewer devices
// than the run.
StatusOr<MegatronPrediction> predictMegatron(const MegatronRun& run, const cost::ClusterSpec& c,
                                             StageCache* cache = nullptr);

}  // namespace tessera::partition::sim
