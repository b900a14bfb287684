// The compiled CPU engine's fusion, as the cost model must see it to price a CPU rank.
//
// Why a second fusion rule: ProgramCost.h's rule (fuse a single-use elementwise producer into its
// consumer) is what GPU frameworks' kernels amount to, and it is what the GPU validation was
// measured against. The CPU engine (codegen/fusion/FusionPlan.h) fuses much more: it groups every
// elementwise / last-axis-reduction / normalization op over one iteration space into one loop
// nest — values used by several members of the group included — makes reshape, transpose,
// broadcast_in_dim and slice strided views (a transposed GEMM operand becomes a BLAS transpose
// flag), and recomputes leaves (full, iota, scalar constants and elementwise ops of leaves)
// inside each kernel. Priced with the consumer rule, a training step's AdamW and backward chains
// wrote and re-read every multi-use intermediate and paid a copy per transpose: session 12
// compared `tessera simulate --breakdown` with the engine's thunk profile (TESSERA_PROFILE) on
// GPT-small dp=2 / tp=2 and found non-GEMM work priced at ~0.37-0.45 of the GEMM time where the
// engine spends ~0.21-0.31.
//
// The groups are the engine's own: passes/fusion/FusionGroups.h is the one rule both the engine
// (codegen/fusion/FusionPlan.h) and this file use (session 13; it was restated here before,
// because partition/ may not depend on codegen/). Dead ops emit nothing, as in the engine, and
// so do the pads and adds of a pad-sum (passes/fusion/PadSums.h, the rule the engine's
// destination passing uses): the engine stores each piece straight into its slice of the
// concatenation, so the pieces' producers pay the only write. (Where a piece cannot be written in
// place — a function argument, a value read elsewhere — the engine copies it once at the pad;
// that copy is codegen's decision and is not priced.) A group is one kernel: it reads each
// distinct value from outside the group once and writes each member value that is used outside
// the group (or returned) once; its FLOPs are its members' and it pays one launch.
#pragma once

#include <vector>

#include "ir/Function.h"
#include "partition/cost/OpCost.h"

namespace tessera::partition::cost {

// How the ops of a program become kernels (SimOptions::fusion).
enum class FusionRule {
  Consumer,  // ProgramCost.h: single-use elementwise producers fuse into their consumer (GPUs)
  Engine,    // this file: the CPU engine's groups, views and leaves
};

// Per-op costs with the engine's fusion applied: costs[i] belongs to f.ops()[i]. A view, leaf,
// dead op or pad-sum member launches nothing and moves nothing; a group's members are `fused`
// except its last, which carries the group's bytes and its launch (FLOPs stay with each member).
// Errors as programCosts.
StatusOr<std::vector<OpCost>> engineProgramCosts(const ir::Function& f, const SymbolValues& syms);

// The engine's group id of every op (-1: not in a group), for tests.
std::vector<int> engineFusionGroups(const ir::Function& f);

}  // namespace tessera::partition::cost
