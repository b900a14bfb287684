// The mixture-of-experts feed-forward layer of `moe-gpt` (Switch Transformer / GShard style),
// built from ordinary ops so that autodiff, sharding and the interpreter need nothing special.
//
// Routing groups, and why: the capacity of an expert, ceil(tokens * k * capacity_factor / E),
// must be a concrete number (it is a dim of the dispatch tensor), but the number of tokens B*S is
// symbolic. So, as GShard does, tokens are routed in groups of a fixed `group_size` G of
// consecutive positions of one sequence, and the capacity is per group:
// C = ceil(G * k * capacity_factor / E). The module declares `sym S divisible_by G`, so
// [B, S, H] reshapes to [B*S/G, G, H] exactly for every allowed S and B stays free. With
// G = S it is per-sequence routing; the whole batch is one group only when B = 1.
//
// Per group (n = B*S/G groups, shapes [n, ...]):
//   logits = x @ router.w [H, E]; probs = softmax(logits); (gate, expert) = top_k(probs, k)
//   gates: k = 1 uses the top probability itself (Switch); k = 2 renormalizes the two to sum 1
//   (GShard). Assignment j of token t is (t, expert[t, j]).
//   Position of an assignment in its expert's buffer: an exclusive cumsum of the one-hot
//   assignments in priority order — every token's first choice (by position), then every
//   token's second choice — so earlier tokens and first choices win. An assignment whose
//   position is >= C is dropped (contributes nothing; the residual connection carries the token).
//   dispatch[t, e, c] = 1 if token t sits in slot c of expert e; combine = the same weighted by
//   the gate. Expert inputs [E, n*C, H] = dispatch^T x (a dot over the group's tokens); expert
//   MLPs fc.w [E, H, F], fc.b [E, F], GELU, proj.w [E, F, H], proj.b [E, H] (batched over E);
//   output[t] = sum over (e, c) of combine[t, e, c] * expert_output[e, c].
// Auxiliary losses over all B*S tokens:
//   Switch load balancing α·E·Σ_i f_i·P_i, f_i = fraction of tokens whose top-1 expert is i
//   (before capacity dropping), P_i = mean router probability of expert i;
//   router z-loss β·mean(logsumexp(logits)^2), emitted only when β > 0.
#pragma once

#include <string>

#include "frontend/zoo/GraphBuilder.h"
#include "frontend/zoo/ZooModels.h"

namespace tessera::frontend::zoo {

// The capacity per expert and routing group.
int64_t moeCapacity(const MoeConfig& c);

struct MoeOutput {
  ir::Value* y = nullptr;    // [B, S, H]: the layer's output (without the residual)
  ir::Value* aux = nullptr;  // f32[]: the weighted auxiliary losses, or null if both are off
};

// x: the normalized block input [B, S, H] with symbols B, S. Parameters are named
// `prefix.router.w`, `prefix.fc.w`, `prefix.fc.b`, `prefix.proj.w`, `prefix.proj.b`; weights
// start normal(0, 0.02), proj.w normal(0, projStd), biases 0.
MoeOutput moeLayer(GraphBuilder& g, ir::Value* x, const MoeConfig& c, int64_t hidden, int64_t ffn,
                   const std::string& prefix, double projStd);

}  // namespace tessera::frontend::zoo
