// Pipeline plans from `tessera train` / `tessera plan` (PipelineTrain.h).
#include "launcher/PipelineTrain.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "ir/Printer.h"
#include "launcher/Commands.h"
#include "launcher/MpirunSpawn.h"
#include "launcher/PlanFile.h"
#include "launcher/PresetFlags.h"
#include "launcher/TrainInputs.h"
#include "partition/exec/Shards.h"
#include "partition/mesh/MeshSpec.h"
#include "partition/pipeline/PipelineOrderCheck.h"
#include "partition/pipeline/StageMemory.h"
#include "partition/pipeline/Timeline.h"
#include "partition/plan/PartitionStep.h"
#include "passes/training/FunctionInliner.h"
#include "passes/training/IrEmitter.h"

namespace tessera::launcher {

namespace pp = partition::pipeline;

bool PipelineFlags::given() const {
  return !stages.empty() || microBatches != 0 || !schedule.empty() || virtualStages != 0 || showSchedule ||
         !scheduleSvg.empty();
}

void addPipelineFlags(CLI::App* cmd, PipelineFlags& f) {
  cmd->add_option("--stages", f.stages,
                  "Pipeline stages: N, auto (balanced by cost, the default) or cut points "
                  "(layer numbers or value names, e.g. 2 or %h1.out, comma-separated)");
  cmd->add_option("--micro-batches", f.microBatches, "Pipeline micro-batches per step (default: p)");
  cmd->add_option("--schedule", f.schedule, "Pipeline schedule: gpipe, 1f1b (default) or interleaved");
  cmd->add_option("--virtual-stages", f.virtualStages, "Interleaved schedule: chunks per rank (default 2)");
  if (f.planCommand) {
    cmd->add_flag("--show-schedule", f.showSchedule, "Print the pipeline's per-rank timeline");
    cmd->add_option("--schedule-svg", f.scheduleSvg, "Write the pipeline's timeline as an SVG file");
  }
}

bool pipelineRequested(const PipelineFlags& f, const DistFlags& d) {
  if (f.given()) return true;
  StatusOr<ir::Mesh> mesh = partition::parseMeshSpec(d.mesh);
  return mesh.isOk() && mesh->axisSize("pp").has_value();
}

StatusOr<pp::PipelineStepOptions> pipelineOptions(const PipelineFlags& f, const ir::Mesh& mesh, int64_t batch) {
  pp::PipelineStepOptions o;
  const std::optional<int64_t> p = mesh.axisSize("pp");
  if (!p)
    return Status::error("the pipeline flags need a 'pp' axis in --mesh (e.g. --mesh pp=2)");
  o.mesh = mesh.name;
  o.axis = "pp";
  pp::ScheduleConfig& c = o.schedule;
  c.ranks = static_cast<int>(*p);
  if (!f.schedule.empty()) {
    StatusOr<pp::ScheduleKind> k = pp::parseScheduleKind(f.schedule);
    if (!k.isOk()) return Status::error("--schedule: " + usageText(k.status().message()));
    c.kind = *k;
  }
  if (f.virtualStages < 0) return Status::error("--virtual-stages: must be >= 1, got " + std::to_string(f.virtualStages));
  c.virtualStages = f.virtualStages ? f.virtualStages : (c.kind == pp::ScheduleKind::Interleaved ? 2 : 1);
  if (f.virtualStages > 1 && c.kind != pp::ScheduleKind::Interleaved)
    return Status::error("--virtual-stages " + std::to_string(f.virtualStages) + " needs --schedule interleaved");
  if (f.microBatches < 0) return Status::error("--micro-batches: must be >= 1, got " + std::to_string(f.microBatches));
  c.microBatches = f.microBatches ? f.microBatches : c.ranks;
  if (Status st = pp::validateConfig(c); !st.isOk())
    return Status::error("--schedule " + std::string(pp::scheduleKindName(c.kind)) + " with --mesh pp=" +
                         std::to_string(c.ranks) + ", --micro-batches " + std::to_string(c.microBatches) + ": " +
                         usageText(st.message()));
  if (batch > 0 && batch % c.microBatches != 0)
    return Status::error("--micro-batches " + std::to_string(c.microBatches) + " does not divide the batch of " +
                         std::to_string(batch) + " sequences (--batch)");
  const int S = c.numStages();
  const std::string ofMesh = " (--mesh pp=" + std::to_string(c.ranks) +
                             (c.virtualStages > 1 ? " x --virtual-stages " + std::to_string(c.virtualStages) : "") +
                             " runs " + std::to_string(S) + " stages)";
  o.split.stages = S;
  // TESSERA_PIPELINE_RECOMPUTE=1: every backward recomputes its stage's forward (the step before
  // forward reuse, RankPrograms.h) — the reference for what reusing the activations saves
  // (bench: same command with and without).
  if (const char* v = std::getenv("TESSERA_PIPELINE_RECOMPUTE"); v && std::string(v) == "1") o.reuseForward = false;
  if (f.stages.empty() || f.stages == "auto") return o;
  if (f.stages.find_first_not_of("0123456789") == std::string::npos) {
    if (std::stoll(f.stages.substr(0, 9)) != S) return Status::error("--stages " + f.stages + ": expected " +
                                                                      std::to_string(S) + ofMesh);
    return o;
  }
  std::stringstream in(f.stages);
  for (std::string cut; std::getline(in, cut, ',');) {
    if (cut.empty()) return Status::error("--stages " + f.stages + ": an empty cut point");
    o.split.cuts.push_back(cut);
  }
  if (static_cast<int>(o.split.cuts.size()) + 1 != S)
    return Status::error("--stages " + f.stages + ": " + std::to_string(o.split.cuts.size()) + " cut point(s) make " +
                         std::to_string(o.split.cuts.size() + 1) + " stages, expected " + std::to_string(S) + ofMesh);
  return o;
}

namespace {

// The communicator manifest (PipelinePlan.h): @name with the global step's signature and one
// axis_index per axis set the step functions use.
Status addManifest(ir::Module& local, const ir::Function& global, const std::vector<std::string>& functions,
                   const std::string& mesh) {
  std::set<std::vector<std::string>> axisSets;
  for (const std::string& fn : functions)
    for (const auto& op : local.findFunction(fn)->ops())
      if ((op->info().isCollective() || op->kind() == ir::OpKind::AxisIndex) && op->attr("axes"))
        axisSets.insert(op->attrAs<ir::AxisList>("axes").axes);
  if (local.findFunction(global.name()))
    return Status::error("pipeline plan: the local module already has @" + global.name());
  ir::Function* f = local.addFunction(global.name());
  std::map<std::string, ir::Value*> args;
  for (int i = 0; i < global.numArguments(); ++i)
    args[global.argument(i)->name()] = f->addArgument(global.argument(i)->type(), global.argument(i)->name());
  passes::IrEmitter e(*f, Location{});
  for (const auto& [n, v] : args) e.reserveName(n);
  for (const std::vector<std::string>& axes : axisSets)
    TRY(e.op(ir::OpKind::AxisIndex, {}, {{"axes", ir::AxisList{axes}}, {"mesh", ir::MeshRef{mesh}}}).status());
  // Results: the count of the global step's (a loss placeholder, then each carried argument).
  std::vector<ir::Value*> results;
  TRY_ASSIGN(ir::Value * zero, e.scalar(global.results()[0]->type().dtype, 0));
  results.push_back(zero);
  const size_t carried = global.results().size() - 1;
  for (size_t k = 0; k < carried; ++k)
    results.push_back(f->argument(static_cast<int>(global.numArguments() - carried + k)));
  f->setResults(results);
  return Status::ok();
}

std::string bytesText(int64_t b) {
  char buf[64];
  if (b >= (1 << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(b) / (1 << 20));
  else if (b >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(b) / 1024);
  else std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  return buf;
}

}  // namespace

namespace {

// The symbol values of one micro-batch (B = batch / M, S = seq) from rank 0's step function's
// data arguments; empty without character data.
StatusOr<std::map<std::string, int64_t>> microBatchSymbols(const pp::PipelineStep& step, const PlanData& data) {
  if (data.batch <= 0) return std::map<std::string, int64_t>{};
  const pp::PipelineRankStep& rs = step.ranks.front();
  const ir::Function* f = step.module->findFunction(rs.info.function);
  const int M = step.schedule.config.microBatches;
  std::map<std::string, ir::Tensor> sample;
  for (size_t i = 0; i < rs.info.batchArgs.size(); ++i)
    if (rs.microBatchOf[i] >= 0 && (rs.dataOf[i] == data.tokensArg || rs.dataOf[i] == data.targetsArg))
      sample[rs.info.batchArgs[i]] = ir::Tensor(ir::DType::I64, {data.batch / M, data.seq});
  return symbolsFromInputs(*f, sample);
}

// Whether the presets split anything.
bool anyPreset(const partition::PresetOptions& p) {
  return p.dataParallel || p.zero > 0 || p.megatron || p.sequenceParallel || !p.expertAxis.empty();
}

int64_t axisSizeOf(const ir::Mesh& mesh, const std::string& axis) {
  return mesh.axisSize(axis).value_or(1);
}

}  // namespace

StatusOr<DistributedPlan> buildPipelinePlan(std::unique_ptr<ir::Module> m, const passes::TrainStepInfo& info,
                                            const passes::TrainStepOptions& ts, PlanRequest request,
                                            const pp::PipelineStepOptions& options, std::string* scheduleText,
                                            std::string* scheduleSvg, std::string* memoryText) {
  bool otherAxes = false;
  for (const ir::MeshAxis& a : request.mesh.axes) otherAxes |= a.name != options.axis && a.size > 1;
  const bool partitioned = otherAxes || anyPreset(request.presets);
  if (!m->findMesh(request.mesh.name)) m->meshes.push_back(request.mesh);
  TRY_ASSIGN(pp::PipelineStep step, pp::buildPipelineStep(*m, ts, options));
  std::vector<std::string> names;
  std::vector<const ir::Function*> fns;
  for (const pp::PipelineRankStep& rs : step.ranks) {
    names.push_back(rs.info.function);
    fns.push_back(step.module->findFunction(rs.info.function));
  }
  // The ordering check, before anything runs: every device runs its pipeline coordinate's step.
  const ir::Mesh& mesh = *step.module->findMesh(options.mesh);
  const int ppIndex = mesh.axisIndex(options.axis);
  std::vector<const ir::Function*> perDevice;
  for (int64_t d = 0; d < mesh.numDevices(); ++d) perDevice.push_back(fns[partition::rankCoordinates(mesh, d)[ppIndex]]);
  TRY(pp::checkPipelineOrder(mesh, perDevice));
  if (scheduleText) {
    TRY_ASSIGN(std::string drawn, pp::drawSchedule(step.schedule));
    *scheduleText = pp::printStagePlan(step.stagesInfo) + pp::printSchedule(step.schedule) + drawn;
  }
  if (scheduleSvg) {
    TRY_ASSIGN(pp::ScheduleTimes times, pp::simulateSchedule(step.schedule));
    *scheduleSvg = pp::timelineSvg(step.schedule, times);
  }
  using Symbols = std::map<std::string, int64_t>;
  TRY_ASSIGN(const Symbols symbols, microBatchSymbols(step, request.data));

  DistributedPlan plan = planHeader(request, info);
  plan.presets = request.presetsText.empty() ? "pipeline" : "pipeline," + request.presetsText;
  PipelinePlan& pl = plan.pipeline;
  std::unique_ptr<ir::Module> local;
  if (partitioned) {
    // Each step function over the other axes (a stage's own dp / tp / ep), at the micro-batch's
    // sizes. A micro-batch the batch axes do not divide is the user's: say which flags.
    const partition::PresetOptions& pr = request.presets;
    const int M = step.schedule.config.microBatches;
    if (request.data.batch > 0) {
      const int64_t b = request.data.batch / M, s = request.data.seq;
      const int64_t dp = pr.dataParallel || pr.zero ? axisSizeOf(mesh, pr.dpAxis) : 1;
      const int64_t ep = pr.expertAxis.empty() ? 1 : axisSizeOf(mesh, pr.expertAxis);
      const int64_t sp = pr.sequenceParallel ? axisSizeOf(mesh, pr.tpAxis) : 1;
      if (b % dp || (b * s) % ep || s % sp)
        return Status::error("--micro-batches " + std::to_string(M) + ": a micro-batch of " + std::to_string(b) +
                             " x " + std::to_string(s) + " (--batch " + std::to_string(request.data.batch) +
                             " / " + std::to_string(M) + ") does not split evenly over " +
                             (b % dp ? "'" + pr.dpAxis + "' (" + std::to_string(dp) + ")"
                                     : (b * s) % ep ? "'" + pr.expertAxis + "' (" + std::to_string(ep) + ")"
                                                    : "'" + pr.tpAxis + "' (" + std::to_string(sp) + ")") +
                             "; use a batch of a multiple of " + std::to_string(M * dp) + " sequences");
    }
    partition::PartitionStepOptions po;
    po.mesh = mesh;
    po.presets = request.presets;
    po.symbolValues = symbols;
    TRY_ASSIGN(partition::PartitionedPrograms parts, partition::partitionPrograms(*step.module, names, options.axis, po));
    for (const partition::ShardingWarning& w : parts.plan.warnings)
      plan.warnings.push_back(w.loc.str() + ": warning: " + w.message);
    // One local module with every partitioned step (the SPMD programs each have their own).
    local = std::make_unique<ir::Module>(step.module->name);
    local->meshes = parts.programs.front().module->meshes;
    local->symbols = parts.programs.front().module->symbols;
    for (size_t i = 0; i < parts.programs.size(); ++i) {
      const partition::SpmdProgram& prog = parts.programs[i];
      ir::Function* f = local->addFunction(names[i]);
      std::vector<ir::Value*> args;
      for (int a = 0; a < prog.local->numArguments(); ++a) {
        const ir::Value* v = prog.local->argument(a);
        args.push_back(f->addArgument(v->type(), v->name(), v->sharding()));
      }
      TRY_ASSIGN(std::vector<ir::Value*> results, passes::inlineFunction(*prog.local, *f, args, std::nullopt));
      f->setResults(results);
      pl.argShardings.push_back(prog.argShardings);
      pl.resultShardings.push_back(prog.resultShardings);
    }
  } else {
    for (size_t i = 0; i < names.size(); ++i) {
      pl.argShardings.emplace_back();
      pl.resultShardings.emplace_back();
    }
  }
  if (memoryText && !symbols.empty()) {
    std::vector<pp::StageMemory> ranks;
    for (const pp::PipelineRankStep& rs : step.ranks) {
      pp::StageMemoryInput in;
      in.function = (local ? *local : *step.module).findFunction(rs.info.function);
      in.params = rs.info.params;
      in.state = rs.info.state;
      in.activationSends = rs.activationSends;
      in.axis = options.axis;
      in.stages = rs.stages;
      TRY_ASSIGN(pp::StageMemory mem, pp::planStageMemory(in, symbols));
      ranks.push_back(std::move(mem));
    }
    *memoryText = pp::printStageMemory(ranks);
  }

  const ir::Function& g = *m->findFunction(info.function);
  std::map<std::string, ArgRole> roles;
  for (const std::string& p : info.params) roles[p] = ArgRole::Parameter;
  for (const std::string& s : info.state) roles[s] = ArgRole::State;
  for (int i = 0; i < g.numArguments(); ++i) {
    PlanArgument a;
    a.name = g.argument(i)->name();
    a.globalType = g.argument(i)->type().str();
    a.sharding = ir::Sharding::replicated(g.argument(i)->type().rank());
    a.sharding.mesh = request.mesh.name;
    auto it = roles.find(a.name);
    a.role = it == roles.end() ? ArgRole::Data : it->second;
    plan.arguments.push_back(std::move(a));
  }
  for (const ir::Value* r : g.results()) {
    ir::Sharding s = ir::Sharding::replicated(r->type().rank());
    s.mesh = request.mesh.name;
    plan.resultShardings.push_back(std::move(s));
  }
  pl.axis = options.axis;
  pl.schedule = pp::scheduleKindName(step.schedule.config.kind);
  pl.microBatches = step.schedule.config.microBatches;
  pl.virtualStages = step.schedule.config.virtualStages;
  pl.cuts = step.stagesInfo.cuts;
  for (const pp::PipelineRankStep& rs : step.ranks) {
    pl.functions.push_back(rs.info.function);
    pl.owned.push_back(rs.owned);
  }
  if (!local) local = std::move(step.module);
  TRY(addManifest(*local, g, pl.functions, options.mesh));
  plan.local = std::move(local);
  plan.global = std::move(m);
  plan.fingerprint = fingerprintOf(*plan.global, plan.function);
  return plan;
}

std::string pipelineSummary(const DistributedPlan& plan) {
  std::ostringstream out;
  const PipelinePlan& pl = plan.pipeline;
  out << "pipeline plan for @" << plan.function << " of " << plan.model << ": " << plan.ranks << " ranks, "
      << pl.schedule << " with " << pl.microBatches << " micro-batches";
  if (pl.virtualStages > 1) out << ", " << pl.virtualStages << " virtual stages per rank";
  out << ", " << plan.optimizer << "\n  cuts:";
  for (const std::string& c : pl.cuts) out << " %" << c;
  out << "\n";
  for (size_t r = 0; r < pl.functions.size(); ++r) {
    const ir::Function* f = plan.local->findFunction(pl.functions[r]);
    if (!f) continue;
    int64_t params = 0, sends = 0, recvs = 0;
    int tensors = 0;
    for (int i = 0; i < f->numArguments(); ++i) {
      const ir::Value* a = f->argument(i);
      bool isParam = false;
      for (const std::string& n : plan.params) isParam |= n == a->name();
      if (!isParam) continue;
      int64_t n = ir::dtypeBytes(a->type().dtype);
      for (const ir::Dim& d : a->type().shape) n *= d.constant().value_or(0);
      params += n;
      ++tensors;
    }
    for (const auto& op : f->ops()) {
      sends += op->kind() == ir::OpKind::Send;
      recvs += op->kind() == ir::OpKind::Recv;
    }
    out << "  " << pl.axis << " rank " << r << ": @" << f->name() << ", " << tensors << " parameter tensors ("
        << bytesText(params) << "), " << sends << " sends, " << recvs << " receives per step\n";
  }
  return out.str();
}

int runPipelineDistributed(const DistFlags& d, const PipelineFlags& f, DistContext ctx,
                           const passes::TrainStepOptions& ts) {
  auto usage = [](const std::string& m) {
    std::cerr << "error: " << m << "\n";
    return kExitUsage;
  };
  auto fail = [](const Status& st) {
    std::cerr << st.message() << "\n";
    return kExitIrError;
  };
  StatusOr<ir::Mesh> mesh = partition::parseMeshSpec(d.mesh);
  if (!mesh.isOk()) return usage(usageText(mesh.status().message()));
  if (!d.planCommand)
    if (Status st = partition::checkMeshRanks(*mesh, d.np); !st.isOk())
      return usage("--mesh " + d.mesh + " with -np " + std::to_string(d.np) + ": " + usageText(st.message()));
  StatusOr<pp::PipelineStepOptions> options = pipelineOptions(f, *mesh, ctx.chars ? ctx.chars->batch : 0);
  if (!options.isOk()) return usage(usageText(options.status().message()));
  options->remat = f.remat;
  PlanRequest req;
  req.mesh = *mesh;
  if (Status st = presetsFromFlags(d, *mesh, req); !st.isOk()) return usage(st.message());
  req.model = ctx.model;
  req.optimizer = ctx.optimizerText;
  if (ctx.chars) {
    req.data.batch = ctx.chars->batch;
    req.data.seq = ctx.chars->seq;
    req.data.tokensArg = ctx.chars->tokensArg;
    req.data.targetsArg = ctx.chars->targetsArg;
  }
  req.data.seed = ctx.seed;
  req.data.corpus = ctx.corpus;
  // Remat on one device lets each gradient die at its update (early updates); the pipeline's
  // update follows its schedule instead, and remat applies to each rank's step (PipelineRemat.h).
  passes::TrainStepOptions pts = ts;
  pts.earlyUpdates = false;
  std::string text, svg, memory;
  StatusOr<DistributedPlan> plan =
      buildPipelinePlan(std::move(ctx.module), ctx.info, pts, req, *options, f.showSchedule ? &text : nullptr,
                        f.scheduleSvg.empty() ? nullptr : &svg, f.memoryReport ? &memory : nullptr);
  if (!plan.isOk()) {
    // The model-dependent flag errors (more stages than layers, a cut inside a layer, ...) are
    // the user's: usage errors before MPI starts.
    return usage(usageText(plan.status().message()));
  }
  if (!ctx.quiet || d.planCommand) std::cout << pipelineSummary(*plan) << text << std::flush;
  if (f.memoryReport) std::cout << memory << std::flush;
  if (!f.scheduleSvg.empty()) {
    std::ofstream o(f.scheduleSvg, std::ios::out | std::ios::trunc);
    if (!o || !(o << svg)) return usage("--schedule-svg: cannot write '" + f.scheduleSvg + "'");
    std::cout << "wrote " << f.scheduleSvg << "\n";
  }
  if (d.planCommand) {
    if (Status st = writePlanFile(d.output, *plan); !st.isOk()) return fail(st);
    std::cout << "wrote " << d.output << " (" << plan->ranks << " ranks; run it with: mpirun -np " << plan->ranks
              << " tessera run " << d.output << ")\n";
    return kExitOk;
  }
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  if (ec) dir = "/tmp";
  const std::string planPath = (dir / ("tessera-plan-" + std::to_string(::getpid()) + ".tpb")).string();
  if (Status st = writePlanFile(planPath, *plan); !st.isOk()) return fail(st);
  StatusOr<std::string> self = thisExecutable();
  if (!self.isOk()) return fail(self.status());
  std::vector<std::string> args = {"run", planPath, "--steps", std::to_string(ctx.steps),
                                   "--engine", ctx.engine, "--no-summary"};
  if (!ctx.logJson.empty()) args.insert(args.end(), {"--log-json", ctx.logJson});
  if (!d.logDir.empty()) args.insert(args.end(), {"--log-dir", d.logDir});
  if (!d.save.empty()) args.insert(args.end(), {"--save", d.save});
  if (ctx.quiet) args.push_back("--quiet");
  StatusOr<int> code = runMpirun(d.np, *self, args);
  std::filesystem::remove(planPath, ec);
  if (!code.isOk()) return fail(code.status());
  if (*code != 0)
    std::cerr << "error: the " << d.np << "-rank job failed (mpirun exit status " << *code << ")\n";
  return *code;
}

}  // namespace tessera::launcher
