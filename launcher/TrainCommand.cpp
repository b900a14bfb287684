// `tessera train MODEL`: build a training step from a model's loss and run it for N steps on the
// compiled CPU engine (or, with --engine=interp, the reference interpreter), printing the loss of
// every step; --memory-report prints the planned memory before the first step.
//
// MODEL is a module file (.tir, .tpb, .pb), an ONNX file (.onnx), or a zoo model name; a zoo
// model takes its size flags (`--layers 2 --hidden 64`, or `--layers=2`) after the train flags,
// and also receives --seq and --seed when it has such options. The data comes from, in order:
// `--input NAME=FILE.npy` (the same tensor every step), the module parameter bound to an
// argument (e.g. a batch stored as frozen parameters), or, for language models with
// %tokens/%targets i64[B,S], character-level windows of a text file (--data, default GPL-3).
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include "frontend/OnnxImporter.h"
#include "frontend/Zoo.h"
#include "ir/Verifier.h"
#include "launcher/CharData.h"
#include "launcher/Commands.h"
#include "launcher/DistributedTrain.h"
#include "launcher/FileUtil.h"
#include "launcher/ModuleIO.h"
#include "launcher/PipelineTrain.h"
#include "launcher/RematChoice.h"
#include "launcher/TrainInputs.h"
#include "launcher/TrainLoop.h"
#include "passes/autodiff/Autodiff.h"
#include "passes/remat/RematPass.h"
#include "passes/training/TrainStep.h"

namespace tessera::launcher {

namespace {

struct TrainOptions {
  std::string model;
  int steps = 10;
  std::string optimizer = "adamw";
  double lr = 0, momentum = 0, dampening = 0, weightDecay = 0, beta1 = 0.9, beta2 = 0.999,
         eps = 1e-8, clip = 0;
  bool nesterov = false;
  int64_t batch = 4, seq = 0;
  int accum = 1;
  std::string data;
  std::vector<std::string> inputs;
  uint64_t seed = 0;
  std::string logJson;
  std::string engine = "compiled";
  bool memoryReport = false;
  std::string remat = "none";
  int64_t memoryBudget = 0;
  bool quiet = false;
  DistFlags dist;  // -np/--mesh/presets (train) or -o (plan): DistributedTrain.h
  PipelineFlags pipeline;  // --stages/--micro-batches/--schedule/...: PipelineTrain.h
  bool batchForced = false;  // plan --auto chose --batch
  // Which optional flags were given.
  CLI::Option *lrOpt = nullptr, *wdOpt = nullptr, *clipOpt = nullptr, *seqOpt = nullptr,
              *seedOpt = nullptr, *batchOpt = nullptr, *dataOpt = nullptr;
};

int usageError(const std::string& msg) {
  std::cerr << "error: " << msg << "\n";
  return kExitUsage;
}

int irError(const Status& st) {
  std::cerr << st.message() << "\n";
  return kExitIrError;
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const frontend::ZooModelInfo* findZooModel(const std::string& name) {
  static const std::vector<frontend::ZooModelInfo> models = frontend::zooModels();
  for (const auto& z : models)
    if (z.name == name) return &z;
  return nullptr;
}

std::string zooNames() {
  std::string out;
  for (const auto& z : frontend::zooModels()) out += (out.empty() ? "" : ", ") + z.name;
  return out;
}

// The flags left over after the train flags: `--key=value` or `--key value`, for the zoo.
StatusOr<std::map<std::string, std::string>> modelFlags(const std::vector<std::string>& extras) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < extras.size(); ++i) {
    const std::string& a = extras[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2)
      return Status::error("unexpected argument '" + a + "'");
    std::string key = a.substr(2), value;
    if (size_t eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else if (i + 1 < extras.size() && extras[i + 1].rfind("--", 0) != 0) {
      value = extras[++i];
    } else {
      return Status::error("--" + key + ": expected a value");
    }
    if (out.count(key)) return Status::error("--" + key + " given twice");
    out[key] = value;
  }
  return out;
}

struct LoadedModel {
  std::unique_ptr<ir::Module> module;
  bool zoo = false;
  std::map<std::string, std::string> zooOptions;
};

// Exit code and message on failure: a bad name or flag is a usage error, a bad file an IR error.
struct LoadError {
  int code;
  Status status;
};

StatusOr<LoadedModel> loadModel(const TrainOptions& o, const std::vector<std::string>& extras,
                                LoadError& err) {
  LoadedModel out;
  auto usage = [&](const std::string& m) {
    err = {kExitUsage, Status::error(m)};
    return err.status;
  };
  auto ir = [&](Status s) {
    err = {kExitIrError, s};
    return s;
  };
  const bool isFile = endsWith(o.model, ".tir") || endsWith(o.model, ".tpb") ||
                      endsWith(o.model, ".pb") || endsWith(o.model, ".onnx");
  const frontend::ZooModelInfo* zoo = isFile ? nullptr : findZooModel(o.model);
  if (!zoo && !extras.empty())
    return usage("unknown flag '" + extras[0] + "'" +
                 (isFile ? " (model size flags are only for zoo models)" : ""));
  if (isFile) {
    if (!fileExists(o.model)) return usage("MODEL: no such file '" + o.model + "'");
    if (endsWith(o.model, ".onnx")) {
      StatusOr<std::unique_ptr<ir::Module>> m = frontend::importOnnx(o.model);
      if (!m.isOk()) return ir(m.status());
      out.module = std::move(*m);
    } else {
      StatusOr<std::unique_ptr<ir::Module>> m = readModule(o.model);
      if (!m.isOk()) return ir(m.status());
      out.module = std::move(*m);
    }
  } else if (zoo) {
    StatusOr<std::map<std::string, std::string>> flags = modelFlags(extras);
    if (!flags.isOk()) return usage(usageText(flags.status().message()));
    if (o.seqOpt->count() && zoo->defaults.count("seq") && !flags->count("seq"))
      (*flags)["seq"] = std::to_string(o.seq);
    if (o.seedOpt->count() && zoo->defaults.count("seed") && !flags->count("seed"))
      (*flags)["seed"] = std::to_string(o.seed);
    StatusOr<std::unique_ptr<ir::Module>> m = frontend::buildZooModel(o.model, *flags);
    if (!m.isOk()) return usage(usageText(m.status().message()));
    out.module = std::move(*m);
    out.zoo = true;
    out.zooOptions = zoo->defaults;
    for (const auto& [k, v] : *flags) out.zooOptions[k] = v;
  } else if (fileExists(o.model)) {
    return usage("MODEL: '" + o.model + "' has an unknown extension (expected .tir, .tpb, .pb or "
                 ".onnx, or a zoo model name: " + zooNames() + ")");
  } else {
    return usage("MODEL: '" + o.model + "' is neither a file nor a zoo model (zoo models: " +
                 zooNames() + ")");
  }
  if (Status st = ir::verifyModule(*out.module); !st.isOk()) return ir(st);
  return out;
}

// The forward function: @main, or the only function.
ir::Function* forwardFunction(ir::Module& m) {
  if (ir::Function* f = m.findFunction("main")) return f;
  return m.functions().size() == 1 ? m.functions()[0].get() : nullptr;
}

int runTrain(TrainOptions& o, const std::vector<std::string>& extras) {
  // ---- flags that need no model ----
  if (o.engine != "interp" && o.engine != "compiled")
    return usageError("--engine: unknown engine '" + o.engine + "' (available: compiled, interp)");
  if (o.memoryReport && o.engine != "compiled")
    return usageError("--memory-report needs --engine=compiled");
  StatusOr<passes::RematMode> rematMode = passes::parseRematMode(o.remat);
  if (!rematMode.isOk()) return usageError("--remat: " + rematMode.status().message());
  if (*rematMode == passes::RematMode::Auto && o.memoryBudget <= 0)
    return usageError("--remat=auto needs --memory-budget BYTES");
  if (o.memoryBudget > 0 && *rematMode != passes::RematMode::Auto)
    return usageError("--memory-budget is used by --remat=auto only");
  passes::TrainStepOptions ts;
  StatusOr<passes::OptimizerKind> kind = passes::parseOptimizer(o.optimizer);
  if (!kind.isOk()) return usageError("--optimizer: " + usageText(kind.status().message()));
  ts.optimizer.kind = *kind;
  if (o.lrOpt->count()) ts.optimizer.lr = o.lr;
  if (o.wdOpt->count()) ts.optimizer.weightDecay = o.weightDecay;
  if (o.clipOpt->count()) ts.clip = o.clip;
  ts.optimizer.momentum = o.momentum;
  ts.optimizer.dampening = o.dampening;
  ts.optimizer.nesterov = o.nesterov;
  ts.optimizer.beta1 = o.beta1;
  ts.optimizer.beta2 = o.beta2;
  ts.optimizer.eps = o.eps;
  ts.accum = o.accum;
  // Under a memory budget, each gradient dies at its parameter's update (EarlyUpdates.h).
  ts.earlyUpdates = *rematMode != passes::RematMode::None;
  if (Status st = passes::validate(ts, passes::OptionNames::Flags); !st.isOk())
    return usageError(usageText(st.message()));
  if (o.steps < 1) return usageError("--steps: must be >= 1, got " + std::to_string(o.steps));
  if (std::string e = checkDistributedFlags(o.dist); !e.empty()) return usageError(e);
  if (o.pipeline.given() && !o.dist.active())
    return usageError("the pipeline flags (--stages, --micro-batches, --schedule, --virtual-stages) "
                      "need -np N and --mesh pp=N");
  // A pipeline takes --remat (each rank's step) and --memory-report (per rank): PipelineTrain.h.
  const bool pipelineRun = o.dist.active() && !o.dist.autoPlan && pipelineRequested(o.pipeline, o.dist);
  if (o.dist.active() &&
      (((*rematMode != passes::RematMode::None || o.memoryReport) && !pipelineRun) ||
       !o.inputs.empty() || o.accum != 1))
    return usageError("--remat, --memory-report, --input and --accum are single-device only "
                      "(not with -np/--mesh or tessera plan; a pipeline, --mesh pp=N, takes "
                      "--remat and --memory-report)");
  if (o.dist.autoPlan) {
    // plan --auto: the planner picks the mesh, the presets and the global batch (PlanAuto.h).
    // Pipeline flags are constraints on the plan (a pipeline with that many stages, micro-batches,
    // that schedule); the timeline flags and cut points are not.
    if (o.pipeline.showSchedule || !o.pipeline.scheduleSvg.empty() ||
        (!o.pipeline.stages.empty() &&
         o.pipeline.stages.find_first_not_of("0123456789") != std::string::npos))
      return usageError("--auto chooses the plan: with it --stages takes a number of stages, and "
                        "--show-schedule / --schedule-svg need the plan's flags instead of --auto");
    AutoPlanInput in;
    if (!o.pipeline.stages.empty()) in.stages = std::stoi(o.pipeline.stages.substr(0, 9));
    in.microBatches = o.pipeline.microBatches;
    in.schedule = o.pipeline.schedule;
    in.virtualStages = o.pipeline.virtualStages;
    in.model = o.model;
    StatusOr<std::map<std::string, std::string>> flags = modelFlags(extras);
    if (!flags.isOk()) return usageError(usageText(flags.status().message()));
    in.modelFlags = *flags;
    if (o.seqOpt->count() && !in.modelFlags.count("seq"))
      in.modelFlags["seq"] = std::to_string(o.seq);
    in.np = o.dist.np;
    in.batch = o.batchOpt->count() ? o.batch : 0;
    in.writes = !o.dist.output.empty();
    AutoPlanOutcome chosen = o.dist.autoPlan(in);
    if (chosen.exitCode >= 0) return chosen.exitCode;
    o.dist.mesh = chosen.mesh;
    o.dist.parallel = chosen.parallel;
    o.batch = chosen.batch;
    o.batchForced = true;
    if (chosen.microBatches > 0) {
      // The planner chose a pipeline: its flags, as if given (PlanAuto.h).
      o.pipeline.microBatches = chosen.microBatches;
      o.pipeline.schedule = chosen.schedule;
      o.pipeline.virtualStages = chosen.virtualStages;
      o.pipeline.stages.clear();  // --stages N was a constraint; the split is the balanced one
      rematMode = passes::parseRematMode(chosen.remat.empty() ? "none" : chosen.remat);
      if (!rematMode.isOk()) return usageError("--remat: " + rematMode.status().message());
      ts.earlyUpdates = *rematMode != passes::RematMode::None;
    }
  }
  if (o.batch < 1) return usageError("--batch: must be >= 1, got " + std::to_string(o.batch));
  if (o.seqOpt->count() && o.seq < 1)
    return usageError("--seq: must be >= 1, got " + std::to_string(o.seq));
  StatusOr<std::vector<InputSpec>> specs = parseInputSpecs(o.inputs);
  if (!specs.isOk()) return usageError(usageText(specs.status().message()));
  if (o.dataOpt->count() && !fileExists(o.data))
    return usageError("--data: no such file '" + o.data + "'");
  std::ofstream logFile;
  if (!o.logJson.empty()) {
    logFile.open(o.logJson, std::ios::out | std::ios::trunc);
    if (!logFile) return usageError("--log-json: cannot open '" + o.logJson + "' for writing");
  }

  // ---- the model ----
  LoadError err{kExitIrError, Status::ok()};
  StatusOr<LoadedModel> loaded = loadModel(o, extras, err);
  if (!loaded.isOk())
    return err.code == kExitUsage ? usageError(usageText(err.status.message()))
                                  : irError(err.status);
  ir::Module& m = *loaded->module;
  ir::Function* f = forwardFunction(m);
  if (!f)
    return irError(Status::error(o.model + ": the module has no @main (the forward function "
                                           "whose result 0 is the loss)"));
  ts.forward = f->name();

  // ---- the data ----
  std::vector<ir::Value*> trainable = passes::trainableArguments(*f);
  std::set<const ir::Value*> trainableSet(trainable.begin(), trainable.end());
  if (Status st = checkInputNames(*specs, *f, trainableSet); !st.isOk())
    return usageError(usageText(st.message()));
  StatusOr<std::map<std::string, ir::Tensor>> fixed = loadInputs(*specs, *f);
  if (!fixed.isOk()) return irError(fixed.status());
  std::vector<const ir::Value*> needData;
  for (int i = 0; i < f->numArguments(); ++i) {
    const ir::Value* a = f->argument(i);
    const ir::Parameter* p = m.findParam(a->name());
    if (!trainableSet.count(a) && !fixed->count(a->name()) && !(p && p->init))
      needData.push_back(a);
  }
  std::optional<CharDataPlan> chars;
  if (!needData.empty() || o.dataOpt->count()) {
    const bool batchGiven = o.batchOpt->count() || o.batchForced;
    StatusOr<CharDataPlan> plan = planCharData(*f, needData, batchGiven ? o.batch : 0,
                                               o.seqOpt->count() ? o.seq : 0,
                                               loaded->zooOptions, ts.accum);
    if (!plan.isOk()) return usageError(usageText(plan.status().message()));
    chars = *plan;
  }
  std::optional<CharCorpus> corpus;
  if (chars) {
    std::string path = o.dataOpt->count() ? o.data : kDefaultCorpus;
    StatusOr<CharCorpus> c = CharCorpus::load(path, chars->seq);
    if (!c.isOk()) return irError(c.status());
    corpus = std::move(*c);
  }
  const int64_t fixedTokens = chars ? chars->batch * chars->seq : tokensPerStep(m, *f, *fixed);

  // ---- the training step ----
  StatusOr<passes::TrainStepInfo> info = passes::buildTrainStep(m, ts);
  if (!info.isOk()) return irError(info.status());

  // ---- distributed: tessera plan, or train -np N under mpirun (DistributedTrain.h) ----
  if (o.dist.active()) {
    DistContext dc;
    dc.model = o.model;
    dc.module = std::move(loaded->module);
    dc.info = *info;
    dc.optimizerText = optimizerSummary(ts);
    dc.chars = chars;
    dc.corpus = o.dataOpt->count() ? o.data : "";
    dc.seed = o.seed;
    dc.steps = o.steps;
    dc.logJson = o.logJson;
    dc.engine = o.engine;
    dc.quiet = o.quiet;
    if (pipelineRequested(o.pipeline, o.dist)) {
      o.pipeline.remat = *rematMode;
      o.pipeline.memoryReport = o.memoryReport;
      return runPipelineDistributed(o.dist, o.pipeline, std::move(dc), ts);
    }
    return runDistributed(o.dist, std::move(dc));
  }

  if (!o.quiet) {
    int64_t elements = 0;
    for (const std::string& n : info->params)
      if (const ir::Parameter* p = m.findParam(n); p && p->init) elements += p->init->numElements();
    std::cout << "training @" << f->name() << " of " << o.model << ": " << info->params.size()
              << " parameter tensors (" << elements << " values), "
              << passes::optimizerName(ts.optimizer.kind)
              << " lr=" << ts.optimizer.learningRate();
    if (ts.accum > 1) std::cout << ", " << ts.accum << " micro-batches";
    if (ts.clip) std::cout << ", clip " << *ts.clip;
    if (chars)
      std::cout << ", batch " << chars->batch << " x " << chars->seq << " bytes of "
                << (o.dataOpt->count() ? o.data : kDefaultCorpus);
    std::cout << "\n";
  }

  std::mt19937_64 rng(o.seed);
  // One step's batch, drawn with sampler `r`.
  auto sample = [&](std::mt19937_64& r) {
    StepData d;
    d.inputs = *fixed;
    d.tokens = fixedTokens;
    if (chars) {
      CharBatch b = corpus->sample(chars->batch, chars->seq, r);
      d.inputs[chars->tokensArg] = std::move(b.tokens);
      d.inputs[chars->targetsArg] = std::move(b.targets);
    }
    return d;
  };
  DataFn data = [&](int) -> StatusOr<StepData> { return sample(rng); };
  if (*rematMode != passes::RematMode::None) {
    // The first step's batch binds the symbols (batch, sequence) the remat planner sizes tensors
    // with; it is drawn from a copy of the sampler, so the steps see the same batches as without
    // remat.
    // auto plans against the compiled engine's buffer plan (RematChoice.h).
    std::mt19937_64 probe = rng;
    StatusOr<std::map<std::string, int64_t>> symbols =
        symbolsFromInputs(*m.findFunction(info->function), sample(probe).inputs);
    if (!symbols.isOk()) return irError(symbols.status());
    StatusOr<passes::RematOutcome> remat =
        applyRematChoice(m, *info, *rematMode, o.memoryBudget, *symbols);
    if (!remat.isOk()) return irError(remat.status());
    if (!o.quiet && *rematMode == passes::RematMode::Auto)
      std::cout << rematSummary(*remat, o.memoryBudget) << "\n";
  }
  TrainLoopOptions lo;
  lo.steps = o.steps;
  lo.engine = o.engine == "interp" ? TrainLoopOptions::EngineKind::Interp
                                   : TrainLoopOptions::EngineKind::Compiled;
  lo.memoryReport = o.memoryReport ? &std::cout : nullptr;
  lo.progress = o.quiet ? nullptr : &std::cout;
  lo.logJson = o.logJson.empty() ? nullptr : &logFile;
  StatusOr<std::vector<StepRecord>> records = runTrainLoop(m, *info, data, lo);
  if (!records.isOk()) return irError(records.status());
  if (!o.quiet && records->size() > 1)
    std::cout << "loss " << records->front().loss << " -> " << records->back().loss << " after "
              << records->size() << " steps\n";
  return kExitOk;
}

class TrainCommand : public Command {
 public:
  // `hook` (plan only): set by PlanCommand.cpp before run() when --auto is given.
  explicit TrainCommand(bool plan = false, const AutoPlanHook* hook = nullptr) : autoHook_(hook) {
    o_.dist.planCommand = plan;
    o_.pipeline.planCommand = plan;
  }
  CLI::App* add(CLI::App& app) override {
    TrainOptions& o = o_;
    CLI::App* cmd =
        o.dist.planCommand
            ? app.add_subcommand("plan", "Compile a distributed training plan for a mesh (run it "
                                         "with mpirun -np N tessera run PLAN).")
            : app.add_subcommand("train",
                                 "Train a model on the compiled CPU engine (loss per step); with "
                                 "-np N --mesh ..., on N ranks under mpirun.");
    cmd->add_option("MODEL", o.model, "A .tir/.tpb/.pb module, an .onnx file, or a zoo model name")
        ->required();
    cmd->add_option("--steps", o.steps, "Number of training steps (default 10)");
    cmd->add_option("--optimizer", o.optimizer, "sgd or adamw (default adamw)");
    o.lrOpt = cmd->add_option("--lr", o.lr, "Learning rate (required for sgd; adamw: 1e-3)");
    cmd->add_option("--momentum", o.momentum, "SGD momentum (default 0)");
    cmd->add_option("--dampening", o.dampening, "SGD dampening (default 0)");
    cmd->add_flag("--nesterov", o.nesterov, "SGD Nesterov momentum");
    o.wdOpt = cmd->add_option("--weight-decay", o.weightDecay,
                              "Weight decay (sgd: 0, adamw: 0.01, decoupled)");
    cmd->add_option("--beta1", o.beta1, "AdamW beta1 (default 0.9)");
    cmd->add_option("--beta2", o.beta2, "AdamW beta2 (default 0.999)");
    cmd->add_option("--eps", o.eps, "AdamW epsilon (default 1e-8)");
    o.batchOpt = cmd->add_option("--batch", o.batch, "Sequences per step (character data; 4)");
    o.seqOpt = cmd->add_option("--seq", o.seq, "Tokens per sequence (character data)");
    cmd->add_option("--accum", o.accum, "Micro-batches per step (gradient accumulation)");
    o.clipOpt = cmd->add_option("--clip", o.clip, "Clip gradients to this global norm");
    o.dataOpt = cmd->add_option("--data", o.data,
                                std::string("Text file for character-level training (default ") +
                                    kDefaultCorpus + ")");
    cmd->add_option("--input", o.inputs,
                    "NAME=FILE.npy: the value of argument %NAME at every step (repeatable)")
        ->allow_extra_args(false);
    o.seedOpt = cmd->add_option("--seed", o.seed, "Seed of the data sampler (and of a zoo model)");
    cmd->add_option("--log-json", o.logJson, "Write one JSON object per step to this file");
    cmd->add_option("--engine", o.engine,
                    "compiled (default: fused LLVM kernels, BLAS) or interp (the reference)");
    cmd->add_option("--remat", o.remat,
                    "Activation checkpointing: none, selective, full or auto (default none)");
    cmd->add_option("--memory-budget", o.memoryBudget,
                    "Planned peak bytes --remat=auto must fit (error states the minimum)");
    cmd->add_flag("--memory-report", o.memoryReport,
                  "Print the planned peak memory per category before the first step");
    cmd->add_flag("--quiet", o.quiet, "No progress output");
    addDistributedFlags(cmd, o.dist);
    addPipelineFlags(cmd, o.pipeline);
    cmd->allow_extras();
    cmd->footer(
        "Zoo models take their size flags (--layers 2 or --layers=2) among the train flags, e.g.\n"
        "  tessera train gpt --layers 1 --hidden 32 --heads 2 --batch 2 --seq 16 --steps 5\n"
        "Exit codes: 0 ok, 1 error in the model, the data or the run, 2 usage error.");
    cmd_ = cmd;
    return cmd;
  }
  int run() override {
    // CLI11 cannot declare `-np` (one dash, two letters): it arrives among the extras.
    StatusOr<std::vector<std::string>> extras = takeNpFlag(cmd_->remaining(), o_.dist);
    if (!extras.isOk()) return usageError(usageText(extras.status().message()));
    if (autoHook_ && *autoHook_) o_.dist.autoPlan = *autoHook_;
    return runTrain(o_, *extras);
  }

 private:
  TrainOptions o_;
  CLI::App* cmd_ = nullptr;
  const AutoPlanHook* autoHook_ = nullptr;
};

}  // namespace

std::unique_ptr<Command> makeTrainCommand() { return std::make_unique<TrainCommand>(); }
// `tessera plan` shares train's model and optimizer flags; PlanCommand.cpp registers it, and sets
// `*autoHook` before run() for --auto.
std::unique_ptr<Command> makeTrainFlagsPlanCommand(const AutoPlanHook* autoHook) {
  return std::make_unique<TrainCommand>(true, autoHook);
}

}  // namespace tessera::launcher
