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
//              (recomputing the GELU input itself would redo the fc GEMM, which is not cheap).
//   mlp:       selective, and also each GELU's input, recomputed from the stored input of the
//              contraction that produces it: from the GELU back through same-shaped candidate
//              ops (the bias add) to a contraction (the fc GEMM), whose operands must be stored
//              anyway under this choice (not candidates, or candidates a backward op reads
//              directly — the MLP input, which the fc weight gradient needs). One h x 4h GEMM
//              and a bias add per token buy back the [B,S,4h] GELU input: a step between
//              selective (almost free) and full (the whole forward again), priced by the same
//              DP. A GELU without such a chain only gets its selective recompute.
// Structure, not names: every op is found by its kind, shape and uses, never by a parameter name.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "ir/Function.h"

namespace tessera::passes {

// The enum values index per-choice arrays (RematCosts); Mlp came last and keeps the older values.
enum class RematChoice { Keep, Selective, Full, Mlp };
inline constexpr int kRematMenuSize = 4;
inline constexpr RematChoice kRematMenu[kRematMenuSize] = {
    RematChoice::Keep, RematChoice::Selective, RematChoice::Full, RematChoice::Mlp};
const char* rematChoiceName(RematChoice c);  // "keep", "selective", "full", "mlp"
char rematChoiceLetter(RematChoice c);       // 'k', 's', 'f', 'm' (plans print as "kssmf...")

struct RematLayer {
  int index = 0;                    // i of `h<i>.`
  std::vector<int> ops;             // forward ops of the layer (positions in the function)
  std::vector<int> candidates;      // the recomputable ones
  std::vector<int> selective;       // the subset `selective` recomputes
  std::vector<int> mlp;             // the subset `mlp` recomputes (selective's and more)
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
