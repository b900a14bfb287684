// `remat`: activation checkpointing of a training step. Forward values are recomputed in the
// backward instead of being stored (RematLayers.h says what each mode recomputes, RematApply.h
// how the clones are placed), so the forward originals die after their last forward use.
//
//   remat{mode=none|selective|full|auto, budget=BYTES, function=NAME, gemm_gflops=G,
//         bandwidth_gbs=B, <SYMBOL>=VALUE...}
//
//   none       changes nothing;
//   selective  Megatron-style: attention scores/softmax ([B,heads,S,S]) and GELU outputs;
//   full       every layer keeps only its inputs and recomputes its whole forward;
//   auto       per layer, keep / selective / mlp / full (RematLayers.h; mlp: selective plus the
//              GELU input, recomputed by the fc GEMM) so that the planned peak at the given symbol
//              values fits `budget` with the least estimated recompute time (RematSolver.h: an
//              exact dynamic program, not a greedy guess; RecomputeCost.h: GEMM FLOPs at
//              gemm_gflops GFLOP/s, other ops' bytes at bandwidth_gbs GB/s, defaults 120 and 10). The peak is the memory model's
//              (RematMemoryModel.h): by default the estimator of passes/memory/MemoryPlan.h; the
//              CLI supplies the compiled engine's buffer plan. The chosen plan is checked with
//              the model on the transformed step; when its real peak misses the budget (a model
//              whose per-layer changes do not add up exactly, e.g. arena fragmentation), the DP is
//              re-run with the target lowered by the miss, until a plan fits. A budget no plan
//              meets is an error stating the minimum feasible peak in bytes by the model.
// Symbol values are options named like the module's symbols (`remat{mode=auto,budget=300000000,
// B=4,S=256}`); auto needs every symbol the step's shapes use. `function` defaults to train_step.
//
// What is never recomputed: collectives and ops with side effects (their results stay stored);
// `random` is counter-based and pure, so recomputing it draws the same numbers and is allowed.
// Results never change: clones are the same ops on the same inputs, so losses and updated
// parameters are bitwise equal with and without remat.
//
// Preconditions (checked): the function exists (run `train-step` first); auto: a budget and the
// symbol values are given. Layers are found by the zoo's `h<i>.` parameter naming; a model
// without such parameters is left unchanged (auto still checks its budget).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "passes/Pass.h"
#include "passes/remat/RecomputeCost.h"
#include "passes/remat/RematLayers.h"
#include "passes/remat/RematMemoryModel.h"

namespace tessera::passes {

enum class RematMode { None, Selective, Full, Auto };

struct RematOptions {
  RematMode mode = RematMode::None;
  std::optional<int64_t> budget;
  std::string function = "train_step";
  std::map<std::string, int64_t> symbols;
  RecomputeRates rates;  // auto: what recompute time is estimated with
  // auto: what peaks are measured with; null: the estimator (EstimatorMemoryModel).
  std::shared_ptr<const RematMemoryModel> memory;
};

// What auto chose (for reports and benchmarks).
struct RematOutcome {
  std::vector<int> layers;            // layer indices (h<i>.)
  std::vector<RematChoice> choices;   // per layer
  int64_t predictedPeak = 0;          // the DP's sum of per-layer changes
  int64_t peak = 0;                   // the model's peak of the transformed step
  int64_t flops = 0;                  // recomputed FLOPs per step
  int64_t nanos = 0;                  // their estimated time (RecomputeCost.h), nanoseconds
  int checks = 0;                     // plans measured whole (1 when the first DP answer fit)
};

class RematPass final : public Pass {
 public:
  std::string_view name() const override { return "remat"; }
  StatusOr<bool> run(ir::Module& m) override;
  Status setOption(std::string_view key, std::string_view value) override;

 private:
  RematOptions options_;
};

// "none" | "selective" | "full" | "auto"; otherwise an error listing them.
StatusOr<RematMode> parseRematMode(std::string_view name);

// The pass's work on one module, for callers holding options (the CLI's --remat flags).
StatusOr<bool> runRemat(ir::Module& m, const RematOptions& o);
StatusOr<bool> runRemat(ir::Module& m, const RematOptions& o, RematOutcome* outcome);

}  // namespace tessera::passes
