// End-to-end step time of a Megatron-LM GPT training run (tensor x pipeline x data parallel,
// full recomputation, 1F1B with optional interleaving), assembled from simulated per-rank
// programs — the first validation of the cost model against published measurements
// (REFERENCE.md, Megatron-LM SC'21 Table 1) before the SPMD partitioner and the pipeline
// scheduler exist.
//
// The repeated block is solved once: one layer's per-rank program (MegatronProgram.h) is
// simulated, and a stage of L/p layers costs L/p times that, plus the embedding on the first
// stage and the output layer on the last (each simulated once with one layer). Then
//   step = (m + (p-1)/v) * T_microbatch(slowest stage)   1F1B with v virtual stages
//        + m * 2v * p2p                                   activations/gradients between stages,
//                                                         b*s*h/t bytes (scatter-gather)
//        + DP gradient all-reduce (16-bit) + tied-embedding all-reduce + optimizer step
// with m = global batch / (micro-batch * d). Every figure comes from the cluster spec; nothing
// is fitted per row.
#pragma once

#include <string>
#include <vector>

#include "partition/cost/ClusterSpec.h"

namespace tessera::partition::sim {

struct MegatronRun {
  std::string name;
  int64_t layers = 0, hidden = 0, heads = 0, tp = 1, pp = 1, gpus = 1, globalBatch = 1;
  int64_t microBatch = 1;
  int64_t virtualStages = 1;
  double publishedTflops = 0;   // per GPU, 0 if unknown
  bool localDdp = false;        // DDP=local: fp32 main-gradient accumulation per micro-batch
  int64_t seq = 2048, vocab = 51200;
};

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
  double peakMemoryBytes = 0;       // one layer's program plus the stage's resident state
  int64_t microbatches = 0;
  double simulateSeconds = 0;       // wall time spent building and simulating
};

// Errors: a plan that does not divide (gpus by tp*pp, layers by pp*v, the batch by d*b), or a
// cluster with fewer devices than the run.
StatusOr<MegatronPrediction> predictMegatron(const MegatronRun& run, const cost::ClusterSpec& c);

}  // namespace tessera::partition::sim
