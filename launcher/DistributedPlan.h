// The distributed training plan in memory: what `tessera plan` compiles from a global training
// step and a mesh, what the plan file (PlanFile.h) stores, and what every rank of `tessera run`
// executes (RankTrainer.h).
//
// A plan holds the global step (with the initial value of every parameter and optimizer state
// tensor as module parameters, so every rank can take ITS shard of the same global start) and the
// partitioner's per-rank program, plus how each argument is sharded over the mesh. The
// fingerprint identifies the global step (its text and the parameter shapes); a plan whose modules
// do not match it is rejected when read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/Mesh.h"
#include "ir/Module.h"
#include "ir/Sharding.h"
#include "launcher/PipelinePlan.h"
#include "partition/presets/Presets.h"
#include "passes/training/TrainStep.h"

namespace tessera::launcher {

// The Tessera release a plan is written by; a plan from another release is refused (the local
// program's ops and the file's fields may mean something else there).
inline constexpr const char* kTesseraVersion = "0.10.0";

enum class ArgRole { Data = 0, Parameter = 1, State = 2 };

struct PlanArgument {
  std::string name;
  std::string globalType;  // printed, e.g. "f32[11,16]"
  ir::Sharding sharding;   // the layout this argument is given to the ranks in
  ArgRole role = ArgRole::Data;
};

// Where the data arguments of the step come from: character windows of a corpus (batch > 0), and
// for every other data argument its module parameter in the global module.
struct PlanData {
  int64_t batch = 0, seq = 0;  // the global batch; 0: no character data
  std::string tokensArg = "tokens", targetsArg = "targets";
  uint64_t seed = 0;
  std::string corpus;  // empty: the default corpus
};

struct DistributedPlan {
  std::string tesseraVersion = kTesseraVersion;
  std::string fingerprint;
  std::string model;
  ir::Mesh mesh;
  int64_t ranks = 0;
  std::string function;                 // the step, in both modules
  std::unique_ptr<ir::Module> global;   // @function (annotated) + every parameter's initial value
  std::unique_ptr<ir::Module> local;    // @function: the program each rank runs
  std::vector<PlanArgument> arguments;  // one per argument of @function, in order
  std::vector<ir::Sharding> resultShardings;
  std::vector<std::string> params, state;  // result 1 + i updates params[i], then state
  PlanData data;
  std::string optimizer;  // the step's options, for display
  std::string presets;    // the presets, for display
  std::vector<std::string> warnings;
  // Pipeline parallelism: the step function of each pipeline rank (PipelinePlan.h); inactive
  // for SPMD plans.
  PipelinePlan pipeline;

  const ir::Function& globalFunction() const;
  const ir::Function& localFunction() const;
};

// The fingerprint of step `function` of `m`: a hash of the function's text and of the name and
// shape of every module parameter, as 16 hex digits.
std::string fingerprintOf(const ir::Module& m, const std::string& function);

struct PlanRequest {
  ir::Mesh mesh;
  partition::PresetOptions presets;
  std::string presetsText;
  std::map<std::string, int64_t> symbolValues;  // batch/sequence for the propagation's costs
  std::string model;
  std::string optimizer;
  PlanData data;
};

// A plan with the request's and the step's fields filled in (model, mesh, ranks, function,
// params, state, data, optimizer; presets = request.presetsText) and nothing else: the common
// start of every plan builder (SPMD here, pipeline in PipelineTrain.h).
DistributedPlan planHeader(const PlanRequest& request, const passes::TrainStepInfo& info);

// Partitions the training step `info` of `m` (built by passes::buildTrainStep) over the mesh and
// returns the plan; `m` becomes the plan's global module. Errors: a preset axis missing from the
// mesh, a sharding the partitioner cannot honour (naming the op or value).
StatusOr<DistributedPlan> buildDistributedPlan(std::unique_ptr<ir::Module> m,
                                               const passes::TrainStepInfo& info,
                                               PlanRequest request);

// The checks a rank makes before any collective: the plan was built for `ranks` ranks and its
// mesh has that many devices. The error says what to run instead.
Status checkPlanRanks(const DistributedPlan& plan, int64_t ranks);

// What `tessera plan` prints: the mesh, the per-rank parameter and state bytes, the collectives per
// step by axis set, and the propagation's warnings.
std::string planSummary(const DistributedPlan& plan);

}  // namespace tessera::launcher
