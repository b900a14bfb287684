// The per-layer recompute program: how many layers of each kind to put on each recompute menu
// item (none / selective / full) so a pipeline stage runs fastest within its memory limit.
//
// Why an integer program: a stage holds a few DISTINCT layer kinds (dense, MoE), each simulated
// once per menu item, so the stage's time and memory are linear in the integer counts n[k][i]
// of layers of kind k on item i:
//   minimise   sum_k,i n[k][i] * seconds[k][i]
//   subject to sum_i n[k][i] = count[k]                      (every layer gets one item)
//              fixed + sum_k,i n[k][i] * bytes[k][i] <= limit  (bytes: stored activations times the
//                                                              stage's in-flight multiplier)
//              n[k][i] >= 0 integer
// a multiple-choice knapsack over kinds x items. Mixes like "2 none, 3 selective, 1 full", or
// recomputing MoE layers, come out of it; a chain DP per layer is not needed because layers of a
// kind are interchangeable (PLANNER.md §3 collapses to counting).
//
// Two solvers behind one call: CBC (COIN-OR branch and cut, when Tessera is built with it:
// TESSERA_HAVE_CBC, see cbcAvailable) and an exact fallback that needs no library: per kind, the
// Pareto frontier (memory, time) of all its compositions over the items, merged kind by kind
// (a DP over kinds keeping only non-dominated partial sums). The instances are tiny (a few kinds,
// three items, at most a few hundred layers), so both answer in well under a millisecond or so.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/Status.h"

namespace tessera::partition::planner {

struct RecomputeKind {
  std::string name;               // "dense", "moe": for messages
  int64_t count = 0;              // layers of this kind on the stage
  std::vector<double> seconds;    // per menu item: one layer's time (forward + recompute + backward)
  std::vector<double> bytes;      // per menu item: the memory one layer adds (in-flight multiplier applied)
};

struct RecomputeProblem {
  std::vector<RecomputeKind> kinds;  // every kind has the same number of items (>= 1)
  double fixedBytes = 0;             // memory that does not depend on the choice
  double limitBytes = 0;
};

enum class RecomputeSolver { Auto, Cbc, Exact };  // Auto: CBC when built with it

struct RecomputeSolution {
  bool feasible = false;
  std::vector<std::vector<int64_t>> counts;  // [kind][item]; empty when infeasible
  double seconds = 0;                        // sum n * seconds
  double bytes = 0;                          // fixed + sum n * bytes
  double minBytes = 0;                       // the least memory any choice needs (every layer on
                                             // its kind's smallest item): stated when infeasible
  const char* solver = "";                   // "cbc" or "exact"
};

// True when built with CBC (the planner's library defines TESSERA_HAVE_CBC).
bool cbcAvailable();

// Errors: no kinds, kinds with different item counts or no items, a negative count, negative or
// non-finite coefficients, a non-positive limit, RecomputeSolver::Cbc without CBC, or CBC
// failing to prove optimality. An over-the-limit problem is not an error: feasible = false and
// minBytes says what it needs. Memory within limit * 1e-9 of the limit counts as fitting.
StatusOr<RecomputeSolution> solveRecompute(const RecomputeProblem& problem,
                                           RecomputeSolver solver = RecomputeSolver::Auto);

}  // namespace tessera::partition::planner
