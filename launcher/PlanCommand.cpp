// `tessera plan MODEL --mesh dp=2,tp=2 [--parallel ...] -o plan.tpb`: compile a distributed
// training plan (DistributedTrain.h, PlanFile.h) for `mpirun -np N tessera run plan.tpb`.
// `tessera plan MODEL --auto [--cluster C] [--global-batch B] [--memory-limit M] [-o plan.tpb]`:
// the automatic planner (PlanAuto.h) chooses the mesh, the presets and the batch; with -o the
// chosen plan is compiled and written exactly as if those flags had been given, without -o the
// plan is printed with a `tessera train -np` command line that runs it.
//
// The command takes every model and optimizer flag of `tessera train`, so it is train's command
// class in plan mode (TrainCommand.cpp); this file wraps it: add() declares the --auto flags on
// it, run() installs the planner as the train command's hook (DistFlags::autoPlan) when --auto is
// given. The printed command line repeats the flags given to `plan` (optimizer, data, sizes).
#include <iostream>
#include <set>

#include "launcher/Commands.h"
#include "launcher/DistributedTrain.h"
#include "launcher/PlanAuto.h"

namespace tessera::launcher {

// TrainCommand.cpp: train's command class in plan mode; runs `*autoHook` when it is set.
std::unique_ptr<Command> makeTrainFlagsPlanCommand(const AutoPlanHook* autoHook);

namespace {

struct AutoFlags {
  bool on = false;
  std::string cluster, memoryLimit;
  int64_t globalBatch = 0;
  bool megatronMenu = false;
  int runnersUp = 4;
  std::vector<CLI::Option*> options;  // every flag above but --auto
};

class PlanCommand : public Command {
 public:
  PlanCommand() : inner_(makeTrainFlagsPlanCommand(&hook_)) {}

  CLI::App* add(CLI::App& app) override {
    cmd_ = inner_->add(app);
    AutoFlags& a = auto_;
    auto_.options = {
        cmd_->add_option("--cluster", a.cluster,
                         "With --auto: NODESxDEVICES:DEVICE (e.g. 16x8:a100-80g) or a cluster "
                         "file (default: this machine, 1xN:cpu, N = -np or the cores)"),
        cmd_->add_option("--global-batch", a.globalBatch,
                         "With --auto: sequences per step (default --batch, else one per device)"),
        cmd_->add_option("--memory-limit", a.memoryLimit,
                         "With --auto: bytes per device, e.g. 40GB (default: the device's)"),
        cmd_->add_flag("--megatron-menu", a.megatronMenu,
                       "With --auto: only Megatron-LM SC'21's menu (GPU clusters, no -o)"),
        cmd_->add_option("--runners-up", a.runnersUp, "With --auto: runners-up to print (4)")};
    autoOpt_ = cmd_->add_flag("--auto", a.on,
                              "Choose the mesh, presets and batch with the planner (prints the "
                              "plan; -o writes it)");
    return cmd_;
  }

  int run() override {
    if (!auto_.on) {
      for (CLI::Option* opt : auto_.options)
        if (opt->count()) {
          std::cerr << "error: " << opt->get_name() << " needs --auto\n";
          return kExitUsage;
        }
      return inner_->run();
    }
    if (auto_.runnersUp < 0) {
      std::cerr << "error: --runners-up: must be >= 0\n";
      return kExitUsage;
    }
    const std::vector<std::string> passthrough = passthroughFlags();
    hook_ = [this, passthrough](const AutoPlanInput& in) {
      AutoPlanOutcome out;
      const int64_t gb = auto_.globalBatch;
      if (gb < 0 || (in.batch && gb && in.batch != gb)) {
        std::cerr << "error: --global-batch " << auto_.globalBatch
                  << (auto_.globalBatch < 0 ? ": must be >= 1"
                                            : " and --batch " + std::to_string(in.batch) +
                                                  " disagree (give one)")
                  << "\n";
        out.exitCode = kExitUsage;
        return out;
      }
      PlanAutoOptions po;
      po.model = in.model;
      po.modelOptions = in.modelFlags;
      po.cluster = auto_.cluster;
      po.ranks = in.np;
      po.globalBatch = auto_.globalBatch ? auto_.globalBatch : in.batch;
      po.memoryLimit = auto_.memoryLimit;
      po.megatronMenu = auto_.megatronMenu;
      po.launchable = in.writes;
      po.runnersUp = auto_.runnersUp;
      po.passthrough = passthrough;
      po.printCommand = !in.writes;
      po.stages = in.stages;
      po.microBatches = in.microBatches;
      po.schedule = in.schedule;
      po.virtualStages = in.virtualStages;
      PlanAutoChoice choice;
      const int code = runPlanAuto(po, &choice);
      if (code != kExitOk || !in.writes) {
        out.exitCode = code;
        return out;
      }
      std::cout << "\n" << std::flush;  // then the compiled plan's summary (DistributedTrain.cpp)
      out.mesh = choice.mesh;
      out.parallel = choice.parallel;
      out.batch = choice.globalBatch;
      out.microBatches = static_cast<int>(choice.microBatches);
      out.schedule = choice.schedule;
      out.virtualStages = static_cast<int>(choice.virtualStages);
      out.remat = choice.remat;
      return out;
    };
    return inner_->run();
  }

 private:
  // The flags given to `plan` that the printed `tessera train` line repeats: every option but
  // MODEL, -o, --batch (the plan's global batch is printed instead) and the --auto flags, then
  // the zoo's size flags as given; -np becomes the plan's.
  std::vector<std::string> passthroughFlags() const {
    std::set<const CLI::Option*> skip(auto_.options.begin(), auto_.options.end());
    skip.insert(autoOpt_);
    std::vector<std::string> out;
    for (const CLI::Option* opt : cmd_->get_options()) {
      if (!opt->count() || skip.count(opt) || !opt->nonpositional()) continue;
      const std::string name = opt->get_name();
      if (name == "--output" || name == "--batch" || name == "--help") continue;
      // Pipeline constraints: the plan's own pipeline flags are printed instead.
      if (name == "--stages" || name == "--micro-batches" || name == "--schedule" ||
          name == "--virtual-stages")
        continue;
      if (opt->get_type_size() == 0) {  // a flag
        out.push_back(name);
        continue;
      }
      for (const std::string& v : opt->results()) out.insert(out.end(), {name, v});
    }
    const std::vector<std::string> extras = cmd_->remaining();
    for (size_t i = 0; i < extras.size(); ++i) {
      if (extras[i] == "-np") {
        ++i;
        continue;
      }
      if (extras[i].rfind("-np=", 0) == 0) continue;
      out.push_back(extras[i]);
    }
    return out;
  }

  AutoPlanHook hook_;  // before inner_: the train command keeps a pointer to it
  std::unique_ptr<Command> inner_;
  CLI::App* cmd_ = nullptr;
  CLI::Option* autoOpt_ = nullptr;
  AutoFlags auto_;
};

}  // namespace

std::unique_ptr<Command> makePlanCommand() { return std::make_unique<PlanCommand>(); }

}  // namespace tessera::launcher
