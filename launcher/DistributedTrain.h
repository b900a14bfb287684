// The distributed side of `tessera train` and `tessera plan`: their extra flags (-np, --mesh,
// the presets, -o) and what they do once the global training step is built —
//   tessera plan MODEL --mesh dp=2,tp=2 --parallel dp,megatron -o plan.tpb   writes the plan;
//   tessera train MODEL -np 4 --mesh ... --steps K                           writes it to a
//     temporary file and runs `mpirun -np 4 <this tessera> run <plan> ...` (MpirunSpawn.h),
//     passing the job's exit status through.
// TrainCommand.cpp owns model loading and the optimizer flags; it calls in here with the step.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <functional>

#include <CLI/CLI.hpp>

#include "ir/Module.h"
#include "launcher/TrainInputs.h"
#include "passes/training/TrainStep.h"

namespace tessera::launcher {

// `tessera plan --auto` (PlanCommand.cpp, PlanAuto.h) chooses the mesh, the presets and the global
// batch once the model's flags are known; the train command then builds that plan as if they had
// been given (--mesh, --parallel, --batch).
struct AutoPlanInput {
  std::string model;
  std::map<std::string, std::string> modelFlags;  // the zoo's size flags, and --seq if given
  int np = 0;                                      // -np N (0: not given)
  int64_t batch = 0;                               // --batch if given, else 0
  bool writes = false;                             // -o given
  // Pipeline flags given with --auto: constraints (only pipeline plans with these); 0 / "": free.
  int stages = 0;
  int microBatches = 0;
  std::string schedule;
  int virtualStages = 0;
};
struct AutoPlanOutcome {
  int exitCode = -1;  // >= 0: the command ends with this code (plan printed, or an error)
  std::string mesh;
  std::vector<std::string> parallel;
  int64_t batch = 0;
  // A pipeline plan (mesh with pp): the pipeline flags and --remat it sets; 0 / "" otherwise.
  int microBatches = 0;
  std::string schedule;
  int virtualStages = 0;
  std::string remat;
};
using AutoPlanHook = std::function<AutoPlanOutcome(const AutoPlanInput&)>;

struct DistFlags {
  bool planCommand = false;  // `tessera plan` (else `tessera train`)
  int np = 0;                // train: ranks (0: single-device training)
  std::string mesh;          // --mesh dp=2,tp=2
  std::vector<std::string> parallel;  // --parallel dp,megatron,... (repeatable)
  int zero = 0;
  bool sequenceParallel = false;
  std::string expertAxis;
  std::string output;   // plan: -o
  std::string logDir;   // train -np: each rank's log
  std::string save;     // train -np: final parameters
  CLI::Option* npOpt = nullptr;
  CLI::Option* meshOpt = nullptr;
  AutoPlanHook autoPlan;  // plan --auto (set by PlanCommand.cpp)

  // Whether the command takes the distributed path.
  bool active() const;
};

// Registers the flags on `cmd` (train: -np and the run flags; plan: -o).
void addDistributedFlags(CLI::App* cmd, DistFlags& d);

// Takes `-np N` (or `-np=N`) out of the arguments CLI11 left over (it cannot declare a one-dash
// two-letter flag) into d.np. Errors: no value, not a positive integer, given twice.
StatusOr<std::vector<std::string>> takeNpFlag(std::vector<std::string> extras, DistFlags& d);

// Checks the distributed flags that need no model: usage errors naming the flag, "" when fine.
std::string checkDistributedFlags(const DistFlags& d);

// Everything `tessera train` knows once it has built the global step.
struct DistContext {
  std::string model;
  std::unique_ptr<ir::Module> module;  // with the global step (taken)
  passes::TrainStepInfo info;
  std::string optimizerText;           // e.g. "sgd lr=0.1 momentum=0.9"
  std::optional<CharDataPlan> chars;
  std::string corpus;                  // --data as given ("" = default)
  uint64_t seed = 0;
  int steps = 10;
  std::string logJson;
  std::string engine = "compiled";
  bool quiet = false;
};

// "sgd lr=0.1 momentum=0.9", "adamw lr=0.001 weight_decay=0.01": for the plan's summary.
std::string optimizerSummary(const passes::TrainStepOptions& ts);

// Builds the plan and writes it (plan) or runs it under mpirun (train -np). Returns the exit code;
// prints its errors.
int runDistributed(const DistFlags& d, DistContext ctx);

}  // namespace tessera::launcher
