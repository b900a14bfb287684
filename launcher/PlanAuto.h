// The body of `tessera plan MODEL --auto`: the automatic planner (partition/planner/Planner.h)
// for a zoo model on a cluster, printing the chosen plan, its predicted step time, TFLOP/s per
// device and memory per device, the runners-up, and — when the launcher runs it — the
// `tessera train -np` command line that trains with it.
//
// Launchable plans: what `tessera train -np N` / `tessera run` execute today — data parallelism
// (with ZeRO 1-3), tensor parallelism (Megatron), experts over the whole dp axis
// (expert-parallel=dp) with one micro-batch per step and no recomputation; or pipeline stages
// (pp > 1, balanced, 1F1B or interleaved with virtual stages, M micro-batches with batch % M = 0
// and (batch / M) % dp = 0) composed with dp / ZeRO-1 / tp and a uniform --remat none, selective
// or full; no sequence parallelism (the compiled engine's SP path is not yet equal to one
// device, closing10.md). The search is restricted to them when the plan is written (-o) or the
// cluster is CPUs (this machine, where the printed command runs); a GPU cluster gets the whole
// menu, and a plan the launcher cannot run prints why instead of a command line.
//
// The command is wired by PlanCommand.cpp (`--auto`); this file owns only the planning.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tessera::launcher {

struct PlanAutoOptions {
  std::string model;                                // a zoo model name (gpt, megatron-18b, ...)
  std::map<std::string, std::string> modelOptions;  // the zoo's size flags, and seq if given
  std::string cluster;      // shorthand or a cluster file; empty: this machine, 1xN:cpu
  int64_t ranks = 0;        // -np: N of the default cluster (0: the cores)
  int64_t globalBatch = 0;  // sequences per step; 0: one per device
  std::string memoryLimit;  // "40GB", "512MiB", bytes; empty: the device's
  bool megatronMenu = false;  // only Megatron-LM SC'21's menu (full recompute, no SP, no ZeRO)
  bool launchable = false;    // only launchable plans (also implied by a CPU cluster)
  int runnersUp = 4;
  // The printed command line: its program (empty: `tessera` when that is on PATH and this
  // executable, else this executable's path) and the flags copied from the plan command
  // (optimizer, data, seq, seed, the zoo's size flags), already split into words.
  std::string program;
  std::vector<std::string> passthrough;
  bool printCommand = true;  // false when the plan is written instead (-o)
  // Pipeline constraints (pipeline flags given with --auto; launchable searches only): a
  // pipeline with `stages` stages, `microBatches` micro-batches, `schedule` (1f1b, interleaved)
  // and `virtualStages` per rank; 0 / "": free.
  int64_t stages = 0;
  int64_t microBatches = 0;
  std::string schedule;
  int64_t virtualStages = 0;
  bool pipelineConstrained() const {
    return stages > 0 || microBatches > 0 || !schedule.empty() || virtualStages > 0;
  }
};

// What the launcher needs of the chosen plan.
struct PlanAutoChoice {
  std::string mesh;                   // --mesh, e.g. "dp=2,tp=2" or "pp=2,dp=2"
  std::vector<std::string> parallel;  // --parallel presets, e.g. {"dp", "megatron"}
  // A pipeline (mesh with pp): --micro-batches, --schedule (1f1b, interleaved), --virtual-stages
  // (interleaved only, else 0) and --remat (none, selective, full); 0 / "" when not a pipeline.
  int64_t microBatches = 0;
  std::string schedule;
  int64_t virtualStages = 0;
  std::string remat;
  int64_t ranks = 0;
  int64_t globalBatch = 0;
  bool launchable = false;
};

// Prints to stdout; errors to stderr. Returns kExitOk (and fills *choice), kExitIrError (no plan:
// the message says why) or kExitUsage (a bad flag value).
int runPlanAuto(const PlanAutoOptions& options, PlanAutoChoice* choice = nullptr);

// Quotes `word` for a POSIX shell when it needs it.
std::string shellWord(const std::string& word);

}  // namespace tessera::launcher
