// Parallelism presets (SHARDING.md §5): each one only ANNOTATES values of the global training step
// (`train-step` pass output: @train_step(batch..., params..., state...) -> (loss, params'...,
// state'...)); sharding propagation derives everything else. Annotations are preset-strength:
// a sharding written in the IR text wins over them dim by dim.
//
// How presets find what they annotate (the zoo's naming, frontend/zoo/Gpt.cpp and MoeLayer.cpp):
//   - data: arguments with no module parameter of their name (tokens, targets); dim 0 is the batch.
//   - parameters: arguments bound to a trainable module parameter; optimizer state: arguments bound
//     to a frozen one, named `<param>.m`, `<param>.v`, `<param>.momentum`, with the parameter's
//     shape; updated params/state are the step's results in the same order (TrainStep.h).
//   - gradients (ZeRO-2): the value named `grad_<param>` (autodiff's name) of the param's shape.
//   - megatron: `*.attn.qkv.{w,b}` and `*.mlp.fc.{w,b}` column-parallel (output dim on tp),
//     `*.attn.proj.w` and `*.mlp.proj.w` row-parallel (input dim on tp), `wte` [V,H] vocab-parallel
//     (dim 0), `head.w` [H,V] (dim 1), `*.moe.fc.w` [E,H,F] on F, `*.moe.proj.w` [E,F,H] on F.
//   - sequence-parallel: the residual stream values `embed` and `h<N>.out` [B,S,H], dim 1 on tp.
//   - expert-parallel: `*.moe.{fc,proj}.{w,b}` dim 0 (the expert dim) on the ep axis.
//   - zero=1: optimizer state split over dp along its first dim that dp divides and no other
//     preset splits; zero=2 also the gradients; zero=3 also the parameters (and params').
// `dp` also records `sym B divisible_by <dp>` for the batch symbol, so that the split batch
// survives the [B,S,H] -> [B*S,H] reshape (a merge keeps a split only when it is even).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "ir/Module.h"
#include "ir/Sharding.h"

namespace tessera::partition {

struct PresetOptions {
  bool dataParallel = false;     // --parallel dp
  int zero = 0;                  // --zero 1|2|3 (implies dataParallel)
  bool megatron = false;         // --parallel megatron
  bool sequenceParallel = false; // --sequence-parallel (needs megatron's tp axis)
  std::string expertAxis;        // --expert-parallel AXIS (empty: off)
  std::string dpAxis = "dp";
  std::string tpAxis = "tp";
};

// Parses a `--parallel` value: a comma list of `dp`, `megatron`, `sequence-parallel`,
// `zero=1|2|3`, `expert-parallel=AXIS`; merges into `into`. Errors name the bad item.
Status parseParallelFlag(std::string_view text, PresetOptions& into);

// The preset annotations for function `step` of `m` on `mesh` (added to m.meshes if absent).
// Errors: a preset whose axis the mesh lacks, a zero level outside 1..3.
StatusOr<std::map<const ir::Value*, ir::Sharding>> presetAnnotations(
    ir::Module& m, const ir::Function& step, const ir::Mesh& mesh, const PresetOptions& o);

}  // namespace tessera::partition
