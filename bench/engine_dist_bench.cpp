// Collectives on the compiled engine, GPT-small (4 layers, hidden 256, seq 128, vocab 256, global
// batch 8) AdamW train step partitioned dp=2: per-step time and exposed communication (time
// blocked in collective waits) with every collective blocking where the program has it, with the
// async start/done schedule, and with async + gradient bucketing.
//
//   OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
//   mpirun -np 2 --oversubscribe build/bench/engine_dist_bench [steps]
//
// Each rank runs 1 thread. "hidden" = 1 - exposed(async) / exposed(blocking): the share of the
// blocking schedule's communication wait that the overlap removes. Medians over the steps;
// timings on the shared 2-core machine are noisy, compare ratios.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <vector>

#include "codegen/Engine.h"
#include "codegen/dist/RankContext.h"
#include "comm/mpi/MpiRuntime.h"
#include "frontend/zoo/ZooModels.h"
#include "partition/exec/Shards.h"
#include "partition/plan/PartitionStep.h"
#include "passes/training/TrainStep.h"

using namespace tessera;

namespace {

[[noreturn]] void die(const std::string& what) { comm::mpi::abortJob(what, 1); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (!comm::mpi::initialize(&argc, &argv).isOk()) return 2;
  int steps = argc > 1 ? std::atoi(argv[1]) : 10;
  auto world = comm::mpi::createWorld();
  if (!world.isOk()) die(world.status().message());
  comm::Communicator& w = **world;
  const bool root = w.rank() == 0;

  frontend::zoo::GptConfig c;
  c.layers = 4;
  c.hidden = 256;
  c.heads = 4;
  c.seq = 128;
  c.vocab = 256;
  c.ffn = 1024;
  auto m = frontend::zoo::buildGpt(c);
  if (!m.isOk()) die(m.status().message());
  passes::TrainStepOptions to;
  to.optimizer.kind = passes::OptimizerKind::AdamW;
  to.optimizer.lr = 1e-3;
  auto info = passes::buildTrainStep(**m, to);
  if (!info.isOk()) die(info.status().message());
  partition::PartitionStepOptions po;
  po.mesh = ir::Mesh::make("m", {{"dp", w.size()}});
  po.presets.dataParallel = true;
  const int64_t batch = 8;
  po.symbolValues = {{"B", batch}};
  auto d = partition::partitionStep(**m, info->function, po);
  if (!d.isOk()) die(d.status().message());
  const partition::SpmdProgram& p = d->program;
  const ir::Function& global = *(*m)->findFunction(info->function);

  // Inputs: a fixed batch and the module's initial parameters, sharded for this rank.
  std::map<std::string, ir::Tensor> mine;
  uint64_t s = 12345;
  auto next = [&] { s = s * 6364136223846793005ULL + 1442695040888963407ULL; return s >> 33; };
  for (int i = 0; i < global.numArguments(); ++i) {
    const std::string& name = global.argument(i)->name();
    ir::Tensor t;
    if (name == "tokens" || name == "targets") {
      std::vector<double> v(batch * c.seq);
      for (double& x : v) x = static_cast<double>(next() % c.vocab);
      t = ir::Tensor(ir::DType::I64, {batch, c.seq}, v);
    } else if (const ir::Parameter* prm = (*m)->findParam(name); prm && prm->init) {
      t = *prm->init;
    } else if (name == "step") {
      t = ir::Tensor::scalar(global.argument(i)->type().dtype, 0);
    } else {
      die("no value for argument %" + name);
    }
    mine[p.local->argument(i)->name()] = partition::shardOf(t, *p.mesh, p.argShardings[i], w.rank());
  }
  auto rank = codegen::RankContext::create(w, *p.mesh, *p.local);
  if (!rank.isOk()) die(rank.status().message());

  struct Mode {
    const char* name;
    bool async;
    int64_t bucket;
  };
  if (root)
    std::printf("GPT-small AdamW step, dp=%d, %d ranks x 1 thread, %d steps (medians)\n", w.size(),
                w.size(), steps);
  double blockingWait = 0;
  for (Mode mode : {Mode{"blocking", false, 0}, Mode{"async", true, 0},
                    Mode{"async+bucket 4MiB", true, 4 << 20}}) {
    (*rank)->options.async = mode.async;
    (*rank)->options.bucketBytes = mode.bucket;
    codegen::EngineOptions o;
    o.threads = 1;
    o.rank = rank->get();
    auto engine = codegen::Engine::compile(*p.module, p.local->name(), o);
    if (!engine.isOk()) die(engine.status().message());
    if (root && mode.async && std::getenv("TESSERA_BENCH_SCHEDULE")) {
      // Where the async schedule put each collective: start and done thunk indices.
      const auto& th = (*engine)->executable().thunks;
      std::map<int, std::vector<size_t>> at;
      for (size_t i = 0; i < th.size(); ++i)
        if (th[i].kind == codegen::ThunkKind::Collective) at[th[i].op].push_back(i);
      std::printf("  schedule (%zu thunks):", th.size());
      for (const auto& [op, idx] : at)
        std::printf(" %zu-%zu", idx.front(), idx.back());
      std::printf("\n");
    }
    std::vector<double> stepS, waitS, issueS;
    int64_t calls = 0;
    for (int i = 0; i < steps + 2; ++i) {
      if (!w.barrier().isOk()) die("barrier failed");
      codegen::DistStats before = (*rank)->stats();
      auto t0 = std::chrono::steady_clock::now();
      auto out = (*engine)->run(mine);
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!out.isOk()) die(out.status().message());
      if (i < 2) continue;  // warm-up: first-touch of the arena, kernel caches
      const codegen::DistStats& after = (*rank)->stats();
      stepS.push_back(dt);
      waitS.push_back(after.waitSeconds - before.waitSeconds);
      issueS.push_back(after.issueSeconds - before.issueSeconds);
      calls = after.calls - before.calls;
    }
    double wait = median(waitS);
    if (!mode.async) blockingWait = wait;
    // Rank 0 prints; both ranks' figures are similar (same program, same sizes).
    if (root) {
      std::printf("  %-18s step %7.1f ms   exposed comm %6.1f ms   pack/reduce %5.1f ms   "
                  "%3lld calls/step",
                  mode.name, 1e3 * median(stepS), 1e3 * wait, 1e3 * median(issueS),
                  static_cast<long long>(calls));
      if (mode.async && blockingWait > 0)
        std::printf("   hidden %4.0f%%", 100.0 * (1.0 - wait / blockingWait));
      std::printf("\n");
    }
  }
  rank->reset();
  world->reset();
  (void)comm::mpi::finalize();
  return 0;
}
