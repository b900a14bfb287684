// A stand-in for the SPMD partitioner's output: Megatron-LM's per-rank program for GPT layers at
// tensor-parallel degree t, written by hand, so that the cost model and the simulator can be
// validated against published Megatron measurements before the partitioner exists.
//
// Per layer and micro-batch (b sequences of s tokens, hidden h, a heads, local sizes h/t and a/t,
// 16-bit): Megatron's column/row-parallel attention and MLP with two all-reduces (axes=[tp]) in
// the forward pass, the same forward again under full activation recomputation (its ops are listed
// in `recomputeOps`, and it re-runs the all-reduces, as Megatron does), and the backward pass with
// its two all-reduces. With sequence parallelism (Korthikanti et al. 2022) LayerNorm, dropout and
// the residual run on s/t of the sequence, each all-reduce becomes an all-gather before the
// column-parallel GEMM plus a reduce-scatter after the row-parallel one, and the backward
// re-gathers the LayerNorm outputs for the weight gradients (asynchronously, `asyncOps`).
// Selective recomputation re-runs only the attention core (q k^T, softmax, dropout) in backward. Kernels follow Megatron's: fused scale-mask-softmax, dropout masks drawn by
// random+compare, bias-dropout-add, bias-GeLU (bias adds fold into those kernels, so biases are
// parameters but add no op). Backward elementwise chains (softmax, LayerNorm, GeLU gradients) are
// cost-shaped stand-ins — they read and write the tensors the real kernels do — not numerically
// exact gradients: this program is for pricing, never for running.
//
// Mixture of experts (`experts` > 0): every layer's MLP is `experts` expert MLPs (each ffn wide,
// split over tp like the dense MLP), top-k routed with a capacity factor, the experts split over
// `ep` ranks (the mesh is <ep, tp>, tp adjacent: the ep group sits inside the data-parallel ranks,
// GShard / DeepSpeed-MoE style). Per layer and micro-batch a rank routes its T tokens (router GEMM
// [T,h]x[h,E] + softmax), gathers their S = T*k*cf slot rows (padded to a multiple of ep and of
// the local experts), all_to_all's them over ep (dispatch), runs its E/ep experts as batched GEMMs
// on S/(E/ep) rows each, all_to_all's the results back (combine) and scatter-adds them into the
// token rows; the tp reduction follows the combine (it is linear). The backward mirrors it: two
// all_to_all's, the experts' weight and input gradients, the router's. Dispatch and combine are
// priced as the row gather / scatter-add Megatron's and DeepSpeed's MoE kernels run, not as the
// dense one-hot einsums of the zoo's reference layer.
//
// Layers: the program runs `layers` forward, then, for each layer from the last, its recompute
// and its backward. Optionally the first stage's vocab-parallel embedding and the last stage's
// output layer with the vocab-parallel cross-entropy and their backward.
#pragma once

#include <memory>
#include <set>

#include "ir/Module.h"
#include "ir/Status.h"

namespace tessera::partition::sim {

// What the backward pass recomputes: nothing, the attention core (Megatron's selective
// recompute), or the whole layer from its input (full recompute).
enum class Recompute { None, Selective, Full };
const char* recomputeName(Recompute r);

struct MegatronStageConfig {
  int64_t layers = 1;
  int64_t hidden = 1024;
  int64_t heads = 16;
  int64_t seq = 2048;
  int64_t microBatch = 1;
  int64_t tp = 1;
  int64_t vocab = 51200;
  Recompute recompute = Recompute::Full;
  bool sequenceParallel = false;  // needs tp > 1 to change anything
  bool dropout = true;
  bool embedding = false;   // the first stage's token embedding
  bool head = false;        // the last stage's output layer and loss
  // Megatron's "local" DDP: every weight gradient is added into an fp32 main-gradient buffer
  // (an input, `main_grad.<param>`) right after its GEMM, once per micro-batch.
  bool accumulateMainGrads = false;
  ir::DType dtype = ir::DType::BF16;
  int64_t ffn = 0;               // MLP (and expert) width; 0: 4 * hidden
  // Mixture of experts (see above): 0 experts = a dense MLP.
  int64_t experts = 0;
  int64_t topK = 1;
  double capacityFactor = 1.0;
  int64_t ep = 1;                // expert-parallel ranks (divides experts)
};

// Slot rows per rank and micro-batch of an MoE layer: ceil(T*k*cf) rounded up to a multiple of
// ep and of the local experts E/ep (T = micro-batch * seq tokens).
int64_t moeSlotRows(const MegatronStageConfig& c);

struct MegatronProgram {
  std::unique_ptr<ir::Module> module;  // mesh @m = <tp=t>, function @stage
  ir::Function* function = nullptr;
  std::set<const ir::Op*> recomputeOps;
  std::set<const ir::Op*> asyncOps;    // collectives that overlap compute (SimOptions::asyncOps)
  double parametersPerRank = 0;        // local parameter count of this stage
  double expertParametersPerRank = 0;  // of which expert weights (replicated over dp/ep only)
  int forwardBegin = 0;                // ops [forwardBegin, forwardEnd) are the layers' forward
  int forwardEnd = 0;                  // pass (after the shared mask and the embedding)
};

// Errors: sizes that do not divide (hidden by heads, heads or ffn or vocab by tp), non-positive.
StatusOr<MegatronProgram> buildMegatronStage(const MegatronStageConfig& c);

}  // namespace tessera::partition::sim
