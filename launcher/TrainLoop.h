// The `tessera train` step loop: run @train_step on the reference interpreter, carry the
// updated parameters and optimizer state to the next step, report progress.
//
// Parameters and state travel through the module itself: after each step the initial values of
// the module parameters named by TrainStepInfo are replaced by the step's results, and the next
// call binds them by name (ir/Interpreter.h). The module therefore ends holding the trained
// weights, and nothing else needs to track argument order.
#pragma once

#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "codegen/Engine.h"
#include "ir/Module.h"
#include "passes/training/TrainStep.h"

namespace tessera::launcher {

struct TrainLoopOptions {
  int steps = 1;
  // compiled: the codegen engine (codegen/Engine.h), parameters and optimizer state kept in it
  // between steps and written back to the module at the end; interp: the reference interpreter.
  enum class EngineKind { Compiled, Interp };
  EngineKind engine = EngineKind::Interp;
  std::ostream* memoryReport = nullptr;  // compiled engine: the planned memory, before step 1
  codegen::EngineOptions engineOptions;  // compiled engine (parameters/state filled in here)
  std::ostream* progress = nullptr;  // one line per step, when set
  std::ostream* logJson = nullptr;   // one JSON object per line per step, when set
};

struct StepRecord {
  int step = 0;         // 1-based
  double loss = 0;
  double seconds = 0;   // wall time of the step (data, interpreter run, state update)
  double tokensPerSecond = 0;
};

// The data inputs of one step (by @train_step argument name) and how many tokens they hold.
struct StepData {
  std::map<std::string, ir::Tensor> inputs;
  int64_t tokens = 0;
};
using DataFn = std::function<StatusOr<StepData>(int step)>;

// Runs `o.steps` steps. Stops with an error (naming the step) when the engine fails or the
// loss is not finite. Returns every step's record.
StatusOr<std::vector<StepRecord>> runTrainLoop(ir::Module& m, const passes::TrainStepInfo& info,
                                               const DataFn& data, const TrainLoopOptions& o);

// "step 3/20  loss 4.7512  0.12 s/step  8500 tok/s"
std::string progressLine(const StepRecord& r, int steps);
// {"step":3,"loss":4.75...,"step_time_s":0.12,"tokens_per_s":8500.0}: keys in that order,
// doubles printed so they read back exactly.
std::string jsonLine(const StepRecord& r);

}  // namespace tessera::launcher
