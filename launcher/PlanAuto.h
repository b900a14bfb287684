// The body of `tessera plan MODEL --auto`: the automatic planner (partition/planner/Planner.h)
// for a zoo model on a cluster, printing the chosen plan, its predicted step time, TFLOP/s per
// GPU and memory per device, the runners-up, and the `tessera train` command that runs it.
//
// The command is wired by PlanCommand.cpp (`--auto`); this file owns only the planning.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace tessera::launcher {

struct PlanAutoOptions {
  std::string model;                                // a zoo model name (gpt, megatron-18b, ...)
  std::map<std::string, std::string> modelOptions;  // the zoo's --key=value size flags
  std::string cluster = "1x4:cpu";                  // shorthand or a cluster file
  int64_t globalBatch = 0;                          // sequences per step; 0: one per device
  std::string memoryLimit;                          // "40GB", "512MiB", bytes; empty: the device's
  bool megatronMenu = false;   // only Megatron-LM SC'21's menu (full recompute, no SP, no ZeRO)
  bool launchable = false;     // only plans `tessera train -np` runs today (no pipeline stages)
  int runnersUp = 4;
};

// Prints to stdout; errors to stderr. Returns kExitOk, kExitIrError (no plan: the message says
// why) or kExitUsage (a bad flag value).
int runPlanAuto(const PlanAutoOptions& options);

}  // namespace tessera::launcher
