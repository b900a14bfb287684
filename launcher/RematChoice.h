// `tessera train --remat=none|selective|full|auto --memory-budget BYTES`: activation
// checkpointing of the training step, with auto planned against the compiled engine's own buffer
// plan (fusion, in-place reuse, arena fragmentation) rather than the pass-level estimator, so that
// the budget means what `--memory-report` prints.
//
// The engine model (EngineMemoryModel) lowers each candidate step without compiling kernels
// (codegen/Engine.h lowerForPlanning), plans its buffers for the run's symbol values with the
// train loop's result aliases (parameters and optimizer state updated in place), and maps the
// per-thunk live bytes back onto the step's ops: every op result gets a unique name in a scratch
// copy, so each buffer a thunk writes names the op that produced it. The remat pass
// (passes/remat/RematPass.h) sums per-layer changes of that curve in its exact DP, then checks
// the chosen plan's real planned peak and tightens until it fits.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/Module.h"
#include "passes/remat/RematMemoryModel.h"
#include "passes/remat/RematPass.h"
#include "passes/training/TrainStep.h"

namespace tessera::launcher {

class EngineMemoryModel final : public passes::RematMemoryModel {
 public:
  // The argument categories and result aliases the train loop gives the engine: results 1.. of
  // the step are the new values of info.params then info.state (TrainLoop.h). `threads`: the
  // EngineOptions::threads of the engine that will run the step (0: one per core), which sizes
  // the own sgemm's packing workspace every thunk's live bytes include (GemmWorkspace.h).
  explicit EngineMemoryModel(const passes::TrainStepInfo& info, int threads = 0);
  std::string name() const override { return "the engine's buffer plan"; }
  StatusOr<passes::RematMemoryCurve> measure(
      const ir::Function& f, const std::map<std::string, int64_t>& symbols) const override;

 private:
  std::set<std::string> parameters_, state_;
  std::vector<std::string> carried_;  // argument aliased by result 1 + i
  int threads_ = 0;
};

// Runs remat on `info.function` of `m` in `mode` (auto: with `budget` bytes, planned by the
// engine model at `symbols` for an engine of `threads` pool threads, EngineOptions::threads).
// Errors: the remat pass's (an unmeetable budget states the minimum by the engine's numbers).
StatusOr<passes::RematOutcome> applyRematChoice(ir::Module& m, const passes::TrainStepInfo& info,
                                                passes::RematMode mode, int64_t budget,
                                                const std::map<std::string, int64_t>& symbols,
                                                int threads = 0);

// One line for the train log: "remat auto: 7 keep, 3 selective, 2 full[, M mlp][, A attn]
// [, B attn+mlp] [kkkkkkksssff]; planned peak N bytes" (the later entries when chosen; letters
// passes::rematChoiceLetter)
// (budget B), recomputing F GFLOP per step (estimated T ms; C plan(s) checked)" (T:
// RematOutcome::nanos, C: whole plans measured by the engine model).
std::string rematSummary(const passes::RematOutcome& o, int64_t budget);

}  // namespace tessera::launcher
