// Finding what activation checkpointing may recompute in a training step: the forward part, its
// layers, and for each layer the ops each menu entry (keep / selective / full) recomputes.
//
// Forward: the ops the loss (result 0) depends on. Everything else (the backward, which starts
// from autodiff's gradient seed, and the optimizer update) is "backward" here: a forward value
// used there is what remat either keeps alive or recomputes.
//
// Layers come from the zoo's parameter naming, `h<i>.` (h0.attn.qkv.w, h3.mlp.fc.b, ...): a
// forward op belongs to layer i when i is the largest layer index among the trained parameters it
// depends on (transitively). Ops depending on no layer parameter (embedding, causal mask) belong to
// no layer; neither do the head's ops: those depending on a non-layer trained parameter that the
// embedding does not use (lnf.*, head.w; with tied embeddings the logits still depend on lnf.*).
// A model without `h<i>.` parameters has no layers, and remat leaves it alone.
//
// What a layer may recompute (its candidates): its pure ops (no collective, no side effect; the
// counter-based `random` is pure, so recomputing it draws the same numbers) whose results are used
// by no forward op outside the layer and are not function results — so every layer's output and
// whatever another layer reads stays stored. Operand-less scalar ops (constants) are never cloned:
// the clones read the original.
//   full:      every candidate; only the layer's inputs stay stored.
//   selective: Megatron-style, the cheap and large ones: each attention softmax (a softmax whose
//              last two dims are the same, [B,heads,S,S]) with the chain of same-shaped ops that
//              feed it (scores, scaling, mask), and each GELU, recomputed from its stored input
//              (recomputing the GELU input itself would redo the fc GEMM, which is not cheap);
//              and, beyond Megatron's, each layer norm (rms norm) whose input stays stored —
//              always, since its gradient reads it: one pass over a row buys back a [B,S,h]
//              output that only the next GEMM's weight gradient reads (the cheapest bytes of
//              all: on GPT-base ~6.3 MB per layer for ~1.5 ms). mlp, attn and attn+mlp include
//              them too.
//   mlp:       selective, and also each GELU's input, recomputed from the stored input of the
//              contraction that produces it: from the GELU back through same-shaped candidate
//              ops (the bias add) to a contraction (the fc GEMM), whose operands must be stored
//              anyway under this choice (not candidates, or candidates a backward op reads
//              directly — the MLP input, which the fc weight gradient needs). One h x 4h GEMM
//              and a bias add per token buy back the [B,S,4h] GELU input: a step between
//              selective (almost free) and full (the whole forward again), priced by the same
//              DP. A GELU without such a chain only gets its selective recompute.
//   attn:      selective, and also the attention's inputs (the per-head q, k, v and the qkv
//              projection they are cut from), recomputed from the stored input of that
//              projection: from each attention softmax (the one selective finds) to the operands
//              of its score contraction (q, k; in selective's same-shaped chain) and the other
//              operand of each contraction reading the probabilities (v), back through layout ops
//              (reshape, transpose, slice: the head split) to a value that, like the GELU input
//              for mlp, is produced through same-shaped candidate ops (the bias add) by a single
//              contraction whose operands stay stored anyway (the LayerNorm output, which the qkv
//              weight gradient reads). One h x 3h GEMM per token buys back the per-head q, k, v
//              the score and context gradients read (3 x [B,S,h]; the projection output and its
//              slices are read by no backward op, so no plan held them); an input without such a
//              chain stays stored.
//   attn+mlp:  both: selective with the attention inputs and the GELU inputs.
// Structure, not names: every op is found by its kind, shape and uses, never by a parameter name.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "ir/Function.h"

namespace tessera::passes {

// The enum values index per-choice arrays (RematCosts); later entries were appended, so the older
// values stay.
enum class RematChoice { Keep, Selective, Full, Mlp, Attn, AttnMlp };
inline constexpr int kRematMenuSize = 6;
inline constexpr RematChoice kRematMenu[kRematMenuSize] = {
    RematChoice::Keep, RematChoice::Selective, RematChoice::Full,
    RematChoice::Mlp,  RematChoice::Attn,      RematChoice::AttnMlp};
// "keep", "selective", "full", "mlp", "attn", "attn+mlp"
const char* rematChoiceName(RematChoice c);
// 'k', 's', 'f', 'm', 'a', 'b' (b: both attn and mlp; plans print as "kssmabf...")
char rematChoiceLetter(RematChoice c);

struct RematLayer {
  int index = 0;                    // i of `h<i>.`
  std::vector<int> ops;             // forward ops of the layer (positions in the function)
  std::vector<int> candidates;      // the recomputable ones
  std::vector<int> selective;       // the subset `selective` recomputes
  std::vector<int> mlp;             // the subset `mlp` recomputes (selective's and more)
  std::vector<int> attn;            // the subset `attn` recomputes (selective's and more)
  std::vector<int> attnMlp;         // the union of mlp and attn
  const std::vector<int>& recompute(RematChoice c) const;

 private:
  std::vector<int> none_;
};

struct RematLayers {
  std::vector<bool> forward;        // per op position
  std::vector<RematLayer> layers;   // by increasing layer index
};

RematLayers findRematLayers(const ir::Function& f);

}  // namespace tessera::passes
