// `mpirun -np N tessera run PLAN --steps K`: one rank of a distributed training job. Every rank
// reads the plan and checks it (format, version, fingerprint, rank count) BEFORE MPI issues any
// collective, so a wrong plan or -np ends every rank with the same clear error instead of a hang;
// then it builds its communicators (RankContext), takes its shard of the global initial values,
// and trains (RankTrainer.h). Rank 0 prints the step lines; --log-dir gives every rank a log.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "codegen/dist/RankContext.h"
#include "comm/mpi/MpiRuntime.h"
#include "launcher/Commands.h"
#include "launcher/FileUtil.h"
#include "launcher/Npy.h"
#include "launcher/PlanFile.h"
#include "launcher/RankTrainer.h"

namespace tessera::launcher {

namespace {

struct RunOptions {
  std::string plan;
  int steps = 10;
  int64_t batch = 0, seq = 0;
  std::string data;
  uint64_t seed = 0;
  std::string logJson, logDir, save;
  std::string engine = "compiled";
  bool quiet = false, noSummary = false;
  CLI::Option* seedOpt = nullptr;
};

// The job's size and this process's rank as the launcher tells them, read without any MPI call:
// Open MPI's variables, else PMI's (Slurm, MPICH); none: a single process.
int64_t envInt(const char* a, const char* b, int64_t fallback) {
  for (const char* name : {a, b})
    if (const char* v = std::getenv(name); v && *v) return std::atoll(v);
  return fallback;
}

int fail(const std::string& message, int code, bool print) {
  if (print) std::cerr << message << "\n";
  return code;
}

int runRun(const RunOptions& o) {
  const int64_t envSize = envInt("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", 1);
  // Errors every rank finds alike before MPI starts are printed by every rank: the first rank to
  // exit makes mpirun end the others, so a message left to rank 0 alone could be lost.
  const bool printer = true;
  if (o.engine != "compiled" && o.engine != "interp")
    return fail("error: --engine: unknown engine '" + o.engine + "' (available: compiled, interp)",
                kExitUsage, printer);
  if (o.steps < 1)
    return fail("error: --steps: must be >= 1, got " + std::to_string(o.steps), kExitUsage,
                printer);
  if (o.batch < 0 || o.seq < 0)
    return fail("error: --batch and --seq must be >= 1", kExitUsage, printer);
  if (!o.data.empty() && !fileExists(o.data))
    return fail("error: --data: no such file '" + o.data + "'", kExitUsage, printer);
  if (!fileExists(o.plan))
    return fail("error: PLAN: no such file '" + o.plan + "'", kExitUsage, printer);

  // ---- the plan, checked before MPI starts ----
  StatusOr<DistributedPlan> plan = readPlanFile(o.plan);
  if (!plan.isOk()) return fail(plan.status().message(), kExitIrError, printer);
  if (Status st = checkPlanRanks(*plan, envSize); !st.isOk())
    return fail(o.plan + ": error: " + usageText(st.message()), kExitIrError, printer);

  // ---- MPI, communicators ----
  if (comm::Status st = comm::mpi::initialize(nullptr, nullptr); !st.isOk())
    return fail("error: " + st.message(), kExitIrError, true);
  auto world = comm::mpi::createWorld();
  if (!world.isOk()) comm::mpi::abortJob("tessera run: " + world.status().message(), 1);
  const int me = (*world)->rank();
  if (Status st = checkPlanRanks(*plan, (*world)->size()); !st.isOk()) {
    // The launcher's variables disagreed with MPI: every rank sees the same, none communicates.
    if (me == 0) std::cerr << o.plan << ": error: " << usageText(st.message()) << "\n";
    world->reset();
    (void)comm::mpi::finalize();
    return kExitIrError;
  }
  std::ofstream log;
  if (!o.logDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.logDir, ec);
    log.open(o.logDir + "/rank" + std::to_string(me) + ".log", std::ios::out | std::ios::trunc);
    if (!log)
      comm::mpi::abortJob("tessera run: rank " + std::to_string(me) + ": --log-dir: cannot write " +
                              o.logDir + "/rank" + std::to_string(me) + ".log",
                          kExitUsage);
    log << "rank " << me << " of " << (*world)->size() << ", plan " << o.plan << " ("
        << plan->fingerprint << ")\npid " << ::getpid() << std::endl;
  }
  std::ofstream json;
  if (me == 0 && !o.logJson.empty()) {
    json.open(o.logJson, std::ios::out | std::ios::trunc);
    if (!json)
      comm::mpi::abortJob("error: --log-json: cannot open '" + o.logJson + "' for writing",
                          kExitUsage);
  }
  // A failure on one rank leaves the others inside a collective: end the whole job, naming it.
  auto abortWith = [&](const Status& st) {
    const std::string m = "tessera run: rank " + std::to_string(me) + ": " + st.message();
    if (log.is_open()) log << m << std::endl;
    comm::mpi::abortJob(m, kExitIrError);
  };
  auto rank = codegen::RankContext::create(**world, plan->mesh, plan->localFunction());
  if (!rank.isOk()) abortWith(rank.status());

  RankTrainOptions ro;
  ro.steps = o.steps;
  ro.batch = o.batch;
  ro.seq = o.seq;
  ro.corpus = o.data;
  if (o.seedOpt->count()) ro.seed = o.seed;
  ro.engine = o.engine == "interp" ? TrainLoopOptions::EngineKind::Interp
                                   : TrainLoopOptions::EngineKind::Compiled;
  ro.engineOptions.threads = 1;  // ranks share the cores; one thread each
  ro.progress = me == 0 && !o.quiet ? &std::cout : nullptr;
  ro.logJson = json.is_open() ? &json : nullptr;
  ro.log = log.is_open() ? &log : nullptr;
  if (me == 0 && !o.quiet && !o.noSummary) std::cout << planSummary(*plan) << std::flush;
  auto trainer = RankTrainer::create(*plan, **rank, ro);
  {
    // Setting up issues no collective, and every rank meets the same errors (same plan, same
    // flags): agree on the outcome, then the lowest failing rank says why and all exit cleanly.
    const int32_t size = (*world)->size();
    int32_t mine = trainer.isOk() ? 0 : size - me, worst = 0;  // max: the lowest failing rank
    if (comm::Status st =
            (*world)->allReduce(&mine, &worst, 1, comm::DataType::I32, comm::ReduceOp::Max);
        !st.isOk())
      abortWith(Status::error(st.message()));
    if (worst != 0) {
      if (size - worst == me) std::cerr << "tessera run: " << trainer.status().message() << "\n";
      if (log.is_open() && !trainer.isOk()) log << trainer.status().message() << std::endl;
      rank->reset();
      world->reset();
      (void)comm::mpi::finalize();
      return kExitIrError;
    }
  }
  auto records = (*trainer)->run();
  if (!records.isOk()) abortWith(records.status());
  if (me == 0 && !o.quiet && records->size() > 1)
    std::cout << "loss " << records->front().loss << " -> " << records->back().loss << " after "
              << records->size() << " steps on " << plan->ranks << " ranks\n";
  if (!o.save.empty()) {
    auto params = (*trainer)->globalParameters();
    if (!params.isOk()) abortWith(params.status());
    if (me == 0) {
      std::error_code ec;
      std::filesystem::create_directories(o.save, ec);
      for (const auto& [name, t] : *params)
        if (Status st = writeNpy(o.save + "/" + name + ".npy", t); !st.isOk()) abortWith(st);
      if (!o.quiet)
        std::cout << "saved " << params->size() << " parameters to " << o.save << "/\n";
    }
  }
  if (log.is_open()) log << "done" << std::endl;
  trainer->reset();
  rank->reset();
  world->reset();
  (void)comm::mpi::finalize();
  return kExitOk;
}

class RunCommand : public Command {
 public:
  CLI::App* add(CLI::App& app) override {
    RunOptions& o = o_;
    CLI::App* cmd = app.add_subcommand(
        "run", "Run a distributed plan on this rank (under mpirun -np N; see 'tessera plan').");
    cmd->add_option("PLAN", o.plan, "A plan file written by 'tessera plan -o'")->required();
    cmd->add_option("--steps", o.steps, "Number of training steps (default 10)");
    cmd->add_option("--batch", o.batch, "Global sequences per step (default: the plan's)");
    cmd->add_option("--seq", o.seq, "Tokens per sequence (default: the plan's)");
    cmd->add_option("--data", o.data, "Text file for character-level training (default: the plan's)");
    o.seedOpt = cmd->add_option("--seed", o.seed, "Seed of the data sampler (default: the plan's)");
    cmd->add_option("--log-json", o.logJson, "Rank 0 writes one JSON object per step here");
    cmd->add_option("--log-dir", o.logDir, "Every rank logs to DIR/rank<r>.log");
    cmd->add_option("--save", o.save, "Write the final global parameters as DIR/<name>.npy");
    cmd->add_option("--engine", o.engine, "compiled (default) or interp (the reference)");
    cmd->add_flag("--quiet", o.quiet, "No progress output");
    cmd->add_flag("--no-summary", o.noSummary, "Do not print the plan's summary");
    cmd->footer(
        "Example:\n"
        "  tessera plan gpt --mesh dp=2,tp=2 --parallel dp,megatron -o plan.tpb\n"
        "  mpirun -np 4 --oversubscribe tessera run plan.tpb --steps 20\n"
        "Exit codes: 0 ok, 1 a bad plan or a failed run, 2 usage error.");
    return cmd;
  }
  int run() override { return runRun(o_); }

 private:
  RunOptions o_;
};

}  // namespace

std::unique_ptr<Command> makeRunCommand() { return std::make_unique<RunCommand>(); }

}  // namespace tessera::launcher
