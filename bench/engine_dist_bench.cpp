// Where a data-parallel step's time goes on CPU ranks, and the A/B behind the CPU default
// (codegen/dist/DistDefaults.h): GPT-small or GPT-base (bench/gpt_bench.py's sizes) AdamW train
// step partitioned dp=N (N = ranks), each rank 1 thread, on the compiled engine:
//
//   OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
//   mpirun -np 2 --oversubscribe build/bench/engine_dist_bench [--model small|base] [--steps 6]
//       [--rounds 3]            (TESSERA_PROFILE=1: every engine prints its thunk profile)
//
// Runs, interleaved round by round (every run in round r before any of round r+1, so machine
// noise hits all alike; medians pooled over the rounds):
//   single xN     rank 0 alone runs the whole global step (batch B) with N threads — the
//                 single-device step at the same work per core; the other ranks wait;
//   no-comm x1    every rank at once runs the global step at batch B/N on 1 thread: a dp rank's
//                 compute (incl. the full optimizer) and memory contention, without collectives;
//   blocking      dp=N, every collective blocking (the CPU default), two-rank sums in halves
//                 (PairReduce.h);
//   blocking/gather   the same with the pair path off (gather both buffers, reduce) — the old way;
//   async 4MiB    start/done schedule + 4 MiB buckets (TESSERA_DIST_ASYNC=1);
//   async 1MiB, async 16MiB, async no-bucket   bucket sizes.
// Per run, rank 0's medians per step: step time; wait (blocked in collective waits: the
// transfer, and idling for the slower rank); pack/reduce (the rank's own core copying and
// summing); in flight (issue to completion) and hidden (the part of in flight the rank spent
// running other thunks: DistStats::overlappedSeconds); compute = step - wait - pack/reduce; and
// skew = the largest minus the smallest compute over the ranks (what one rank idles for).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
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

struct Mode {
  std::string name;
  enum Kind { Single, NoComm, Dp } kind;
  bool async = false;
  int64_t bucket = 0;
  int64_t pairMin = 16 << 10;
};

struct Samples {
  std::vector<double> step, wait, issue, inflight, hidden, compute, skew;
  int64_t calls = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (!comm::mpi::initialize(&argc, &argv).isOk()) return 2;
  std::string model = "small";
  int steps = 6, rounds = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model = argv[i + 1];
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    else die(std::string("engine_dist_bench: unknown flag ") + argv[i]);
  }
  if (model != "small" && model != "base") die("--model small|base");
  auto world = comm::mpi::createWorld();
  if (!world.isOk()) die(world.status().message());
  comm::Communicator& w = **world;
  const int n = w.size();
  const bool root = w.rank() == 0;

  frontend::zoo::GptConfig c;
  int64_t batch = 8;
  if (model == "small") {
    c.layers = 4, c.hidden = 256, c.heads = 4, c.seq = 128, c.vocab = 256;
  } else {
    c.layers = 12, c.hidden = 768, c.heads = 12, c.seq = 256, c.vocab = 512, batch = 4;
  }
  c.ffn = 4 * c.hidden;
  if (batch % n) die("the global batch does not divide over the ranks");
  auto m = frontend::zoo::buildGpt(c);
  if (!m.isOk()) die(m.status().message());
  passes::TrainStepOptions to;
  to.optimizer.kind = passes::OptimizerKind::AdamW;
  to.optimizer.lr = 1e-3;
  auto info = passes::buildTrainStep(**m, to);
  if (!info.isOk()) die(info.status().message());
  partition::PartitionStepOptions po;
  po.mesh = ir::Mesh::make("m", {{"dp", n}});
  po.presets.dataParallel = true;
  po.symbolValues = {{"B", batch}};
  auto d = partition::partitionStep(**m, info->function, po);
  if (!d.isOk()) die(d.status().message());
  const partition::SpmdProgram& p = d->program;
  const ir::Function& global = *(*m)->findFunction(info->function);

  // Inputs: a fixed global batch and the initial parameters; this rank's shard of them; and the
  // first B/N rows (the no-comm runs: the global step at a dp rank's batch).
  std::map<std::string, ir::Tensor> all, mine, part;
  uint64_t s = 12345;
  auto next = [&] { s = s * 6364136223846793005ULL + 1442695040888963407ULL; return s >> 33; };
  for (int i = 0; i < global.numArguments(); ++i) {
    const std::string& name = global.argument(i)->name();
    ir::Tensor t, t1;
    if (name == "tokens" || name == "targets") {
      std::vector<double> v(batch * c.seq);
      for (double& x : v) x = static_cast<double>(next() % c.vocab);
      t = ir::Tensor(ir::DType::I64, {batch, c.seq}, v);
      v.resize(batch / n * c.seq);
      t1 = ir::Tensor(ir::DType::I64, {batch / n, c.seq}, v);
    } else if (const ir::Parameter* prm = (*m)->findParam(name); prm && prm->init) {
      t = t1 = *prm->init;
    } else if (name == "step") {
      t = t1 = ir::Tensor::scalar(global.argument(i)->type().dtype, 0);
    } else {
      die("no value for argument %" + name);
    }
    mine[p.local->argument(i)->name()] = partition::shardOf(t, *p.mesh, p.argShardings[i], w.rank());
    all[name] = t;
    part[name] = t1;
  }
  auto rank = codegen::RankContext::create(w, *p.mesh, *p.local);
  if (!rank.isOk()) die(rank.status().message());

  const std::string nx = std::to_string(n);
  std::vector<Mode> modes = {
      {"single x" + nx, Mode::Single},
      {"no-comm x1", Mode::NoComm},
      {"blocking", Mode::Dp, false, 0},
      {"blocking/gather", Mode::Dp, false, 0, -1},
      {"async 4MiB", Mode::Dp, true, 4 << 20},
      {"async 1MiB", Mode::Dp, true, 1 << 20},
      {"async 16MiB", Mode::Dp, true, 16 << 20},
      {"async no-bucket", Mode::Dp, true, 0},
  };
  if (root)
    std::printf("GPT-%s AdamW step (batch %lld), dp=%d, %d ranks x 1 thread, %d steps x %d "
                "round(s), medians\n",
                model.c_str(), static_cast<long long>(batch), n, n, steps, rounds);
  std::vector<Samples> out(modes.size());
  for (int round = 0; round < rounds; ++round)
    for (size_t k = 0; k < modes.size(); ++k) {
      const Mode& mode = modes[k];
      Samples& smp = out[k];
      codegen::EngineOptions o;
      o.threads = mode.kind == Mode::Single ? n : 1;
      std::unique_ptr<codegen::Engine> engine;
      const bool runs = mode.kind != Mode::Single || root;
      if (mode.kind == Mode::Dp) {
        (*rank)->options.async = mode.async;
        (*rank)->options.bucketBytes = mode.bucket;
        (*rank)->options.pairMinBytes = mode.pairMin;
        o.rank = rank->get();
        auto e = codegen::Engine::compile(*p.module, p.local->name(), o);
        if (!e.isOk()) die(e.status().message());
        engine = std::move(*e);
      } else if (runs) {
        auto e = codegen::Engine::compile(**m, info->function, o);
        if (!e.isOk()) die(e.status().message());
        engine = std::move(*e);
      }
      const auto& inputs = mode.kind == Mode::Dp ? mine : mode.kind == Mode::Single ? all : part;
      for (int i = 0; i < steps + 2; ++i) {
        if (!w.barrier().isOk()) die("barrier failed");
        codegen::DistStats before = (*rank)->stats();
        auto t0 = std::chrono::steady_clock::now();
        if (runs) {
          auto r = engine->run(inputs);
          if (!r.isOk()) die(r.status().message());
        }
        double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const codegen::DistStats& a = (*rank)->stats();
        double wait = a.waitSeconds - before.waitSeconds, issue = a.issueSeconds - before.issueSeconds;
        double compute = dt - wait - issue, lo = 0, hi = 0;
        if (!w.allReduce(&compute, &hi, 1, comm::DataType::F64, comm::ReduceOp::Max).isOk())
          die("allreduce failed");
        double neg = -compute;
        if (!w.allReduce(&neg, &lo, 1, comm::DataType::F64, comm::ReduceOp::Max).isOk())
          die("allreduce failed");
        if (i < 2) continue;  // warm-up: first touch of the arena, caches
        smp.step.push_back(dt);
        smp.wait.push_back(wait);
        smp.issue.push_back(issue);
        smp.inflight.push_back(a.inflightSeconds - before.inflightSeconds);
        smp.hidden.push_back(a.overlappedSeconds - before.overlappedSeconds);
        smp.compute.push_back(compute);
        smp.skew.push_back(hi + lo);
        smp.calls = a.calls - before.calls;
      }
      engine.reset();  // (with TESSERA_PROFILE set, prints this run's thunk profile)
      if (root)
        std::printf("  round %d %-16s step %8.1f ms\n", round + 1, mode.name.c_str(),
                    1e3 * median(std::vector<double>(smp.step.end() - steps, smp.step.end())));
      std::fflush(stdout);
    }
  if (root) {
    std::printf("%-16s %9s %9s %9s %9s %14s %9s %8s %6s\n", "run", "step ms", "wait ms",
                "pack ms", "flight ms", "hidden ms (%)", "comp ms", "skew ms", "calls");
    for (size_t k = 0; k < modes.size(); ++k) {
      const Samples& x = out[k];
      double fl = median(x.inflight), hd = median(x.hidden);
      // (single: the other ranks idle, so there is no skew to speak of.)
      const double skew = modes[k].kind == Mode::Single ? 0 : 1e3 * median(x.skew);
      std::printf("%-16s %9.1f %9.1f %9.1f %9.1f %8.1f (%3.0f%%) %9.1f %8.1f %6lld\n",
                  modes[k].name.c_str(), 1e3 * median(x.step), 1e3 * median(x.wait),
                  1e3 * median(x.issue), 1e3 * fl, 1e3 * hd, fl > 0 ? 100 * hd / fl : 0.0,
                  1e3 * median(x.compute), skew, static_cast<long long>(x.calls));
    }
  }
  rank->reset();
  world->reset();
  (void)comm::mpi::finalize();
  return 0;
}
