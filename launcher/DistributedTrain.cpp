// `tessera plan` and `tessera train -np N` once the global step exists (DistributedTrain.h).
#include "launcher/DistributedTrain.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "launcher/Commands.h"
#include "launcher/MpirunSpawn.h"
#include "launcher/PlanFile.h"
#include "launcher/PresetFlags.h"
#include "partition/mesh/MeshSpec.h"
#include "partition/plan/Specialize.h"

namespace tessera::launcher {

bool DistFlags::active() const {
  return planCommand || np > 0 || (npOpt && npOpt->count()) || (meshOpt && meshOpt->count());
}

void addDistributedFlags(CLI::App* cmd, DistFlags& d) {
  d.meshOpt = cmd->add_option("--mesh", d.mesh,
                              "Device mesh, e.g. dp=2,tp=2 (axes major to minor; product = ranks)");
  cmd->add_option("--parallel", d.parallel,
                  "Presets: dp, megatron, sequence-parallel, zero=1|2|3, expert-parallel=AXIS "
                  "(comma list, repeatable)")
      ->delimiter(',');
  cmd->add_option("--zero", d.zero, "ZeRO level over dp: 1 state, 2 + gradients, 3 + parameters");
  cmd->add_flag("--sequence-parallel", d.sequenceParallel, "Megatron sequence parallelism (tp)");
  cmd->add_option("--expert-parallel", d.expertAxis, "Split MoE experts over this mesh axis");
  if (d.planCommand) {
    // Required unless --auto only prints a plan (checkDistributedFlags).
    cmd->add_option("-o,--output", d.output, "The plan file to write (.tpb)");
  } else {
    d.npOpt = cmd->add_option("--np", d.np,
                              "Train on N ranks under mpirun (also -np N, after MODEL)");
    cmd->add_option("--log-dir", d.logDir, "With -np: every rank logs to DIR/rank<r>.log");
    cmd->add_option("--save", d.save, "With -np: write the final parameters as DIR/<name>.npy");
  }
}

StatusOr<std::vector<std::string>> takeNpFlag(std::vector<std::string> extras, DistFlags& d) {
  std::vector<std::string> rest;
  bool seen = d.npOpt && d.npOpt->count();
  for (size_t i = 0; i < extras.size(); ++i) {
    std::string value;
    if (extras[i] == "-np") {
      if (i + 1 >= extras.size()) return Status::error("-np: expected the number of ranks");
      value = extras[++i];
    } else if (extras[i].rfind("-np=", 0) == 0) {
      value = extras[i].substr(4);
    } else {
      rest.push_back(extras[i]);
      continue;
    }
    if (seen) return Status::error("-np given twice");
    seen = true;
    if (value.empty() || value.size() > 6 ||
        value.find_first_not_of("0123456789") != std::string::npos || std::stoi(value) < 1)
      return Status::error("-np: expected a positive number of ranks, got '" + value + "'" +
                           (value.empty() || std::isdigit(static_cast<unsigned char>(value[0]))
                                ? ""
                                : " (give -np N after MODEL, or --np N)"));
    d.np = std::stoi(value);
  }
  return rest;
}

std::string checkDistributedFlags(const DistFlags& d) {
  if (!d.planCommand) {
    if (d.np < 0 || ((d.npOpt && d.npOpt->count()) && d.np < 1))
      return "-np: must be >= 1, got " + std::to_string(d.np);
    if (d.np > 0 && d.mesh.empty())
      return "-np " + std::to_string(d.np) + " needs --mesh (e.g. --mesh dp=" +
             std::to_string(d.np) + ")";
    if (d.np == 0 && !d.mesh.empty()) return "--mesh needs -np N (the number of ranks)";
    if (d.np == 0 && (!d.parallel.empty() || d.zero || d.sequenceParallel ||
                      !d.expertAxis.empty() || !d.logDir.empty() || !d.save.empty()))
      return "the parallelism flags (--parallel, --zero, --sequence-parallel, "
             "--expert-parallel, --log-dir, --save) need -np N and --mesh";
  }
  if (d.planCommand && d.output.empty() && !d.autoPlan)
    return "-o/--output: the plan file to write is required (--auto without -o prints the "
           "chosen plan only)";
  if (d.planCommand && !d.autoPlan && d.mesh.empty())
    return "--mesh is required (e.g. --mesh dp=2,tp=2), or --auto to choose one";
  if (d.autoPlan && (!d.mesh.empty() || !d.parallel.empty() || d.zero || d.sequenceParallel ||
                     !d.expertAxis.empty()))
    return "--auto chooses the mesh and the presets: give --auto or --mesh/--parallel/--zero/"
           "--sequence-parallel/--expert-parallel, not both";
  if (d.zero < 0 || d.zero > 3) return "--zero: must be 1, 2 or 3, got " + std::to_string(d.zero);
  return "";
}

std::string optimizerSummary(const passes::TrainStepOptions& ts) {
  char buf[160];
  const passes::OptimizerOptions& o = ts.optimizer;
  if (o.kind == passes::OptimizerKind::Sgd)
    std::snprintf(buf, sizeof buf, "sgd lr=%g momentum=%g weight_decay=%g", o.learningRate(),
                  o.momentum, o.decay());
  else
    std::snprintf(buf, sizeof buf, "%s lr=%g weight_decay=%g", passes::optimizerName(o.kind),
                  o.learningRate(), o.decay());
  std::string out = buf;
  if (ts.clip) out += " clip=" + std::to_string(*ts.clip);
  return out;
}

namespace {

int usage(const std::string& m) {
  std::cerr << "error: " << m << "\n";
  return kExitUsage;
}

int irFail(const Status& st) {
  std::cerr << st.message() << "\n";
  return kExitIrError;
}

}  // namespace

int runDistributed(const DistFlags& d, DistContext ctx) {
  // ---- the mesh and the presets (usage errors: they are the user's flags) ----
  StatusOr<ir::Mesh> mesh = partition::parseMeshSpec(d.mesh);
  if (!mesh.isOk()) return usage(usageText(mesh.status().message()));
  if (!d.planCommand) {
    if (Status st = partition::checkMeshRanks(*mesh, d.np); !st.isOk())
      return usage("--mesh " + d.mesh + " with -np " + std::to_string(d.np) + ": " +
                   usageText(st.message()));
  }
  PlanRequest req;
  req.mesh = *mesh;
  if (Status st = presetsFromFlags(d, *mesh, req); !st.isOk()) return usage(st.message());
  if (req.presetsText.empty()) req.presetsText = "none (replicated)";
  req.model = ctx.model;
  req.optimizer = ctx.optimizerText;
  if (ctx.chars) {
    req.data.batch = ctx.chars->batch;
    req.data.seq = ctx.chars->seq;
    req.data.tokensArg = ctx.chars->tokensArg;
    req.data.targetsArg = ctx.chars->targetsArg;
    // The batch and sequence symbols, for the propagation's costs.
    const ir::Function* step = ctx.module->findFunction(ctx.info.function);
    std::map<std::string, ir::Tensor> sample = {
        {ctx.chars->tokensArg, ir::Tensor(ir::DType::I64, {ctx.chars->batch, ctx.chars->seq})},
        {ctx.chars->targetsArg, ir::Tensor(ir::DType::I64, {ctx.chars->batch, ctx.chars->seq})}};
    if (step)
      if (auto symbols = symbolsFromInputs(*step, sample); symbols.isOk())
        req.symbolValues = *symbols;
  }
  req.data.seed = ctx.seed;
  req.data.corpus = ctx.corpus;

  // ---- a batch (or sequence) the mesh does not divide: the step fixed to this run's sizes ----
  // A symbolic dim split over an axis needs the axis to divide it; a concrete one is split by
  // ceil division with padded shards and masked reductions (Specialize.h). The plan then runs at
  // exactly this batch and sequence length (tessera run checks --batch/--seq against it).
  if (ctx.chars && !req.symbolValues.empty()) {
    auto axisSize = [&](const std::string& a) -> int64_t {
      for (const ir::MeshAxis& x : mesh->axes)
        if (x.name == a) return x.size;
      return 1;
    };
    const partition::PresetOptions& p = req.presets;
    const int64_t dp = p.dataParallel || p.zero ? axisSize(p.dpAxis) : 1;
    const int64_t sp = p.sequenceParallel ? axisSize(p.tpAxis) : 1;
    const int64_t ep = p.expertAxis.empty() ? 1 : axisSize(p.expertAxis);
    const int64_t b = ctx.chars->batch, s = ctx.chars->seq;
    if (b % dp || s % sp || (b * s) % ep) {
      ir::Function* step = ctx.module->findFunction(ctx.info.function);
      if (!step) return irFail(Status::error("plan: the module has no @" + ctx.info.function));
      if (Status st = partition::specializeSymbols(*step, req.symbolValues); !st.isOk())
        return irFail(st);
      if (!ctx.quiet || d.planCommand)
        std::cout << "batch " << b << " x " << s << " does not divide evenly over the mesh: the "
                  << "plan is fixed to it (uneven shards, padded and masked)\n";
    }
  }

  // ---- the plan ----
  StatusOr<DistributedPlan> plan = buildDistributedPlan(std::move(ctx.module), ctx.info, req);
  if (!plan.isOk()) return irFail(plan.status());
  if (!ctx.quiet || d.planCommand) std::cout << planSummary(*plan) << std::flush;
  if (d.planCommand) {
    if (Status st = writePlanFile(d.output, *plan); !st.isOk()) return irFail(st);
    std::cout << "wrote " << d.output << " (" << plan->ranks << " ranks; run it with: mpirun -np "
              << plan->ranks << " tessera run " << d.output << ")\n";
    return kExitOk;
  }

  // ---- train -np: a temporary plan file, then mpirun ----
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  if (ec) dir = "/tmp";
  const std::string planPath =
      (dir / ("tessera-plan-" + std::to_string(::getpid()) + ".tpb")).string();
  if (Status st = writePlanFile(planPath, *plan); !st.isOk()) return irFail(st);
  StatusOr<std::string> self = thisExecutable();
  if (!self.isOk()) return irFail(self.status());
  std::vector<std::string> args = {"run", planPath, "--steps", std::to_string(ctx.steps),
                                   "--engine", ctx.engine, "--no-summary"};  // printed above
  if (!ctx.logJson.empty()) args.insert(args.end(), {"--log-json", ctx.logJson});
  if (!d.logDir.empty()) args.insert(args.end(), {"--log-dir", d.logDir});
  if (!d.save.empty()) args.insert(args.end(), {"--save", d.save});
  if (ctx.quiet) args.push_back("--quiet");
  StatusOr<int> code = runMpirun(d.np, *self, args);
  std::filesystem::remove(planPath, ec);
  if (!code.isOk()) return irFail(code.status());
  if (*code != 0) std::cerr << "error: the " << d.np << "-rank job failed (mpirun exit status "
                            << *code << ")\n";
  return *code;
}

}  // namespace tessera::launcher
