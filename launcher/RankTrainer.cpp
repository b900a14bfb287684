// One rank's training loop over a distributed plan (RankTrainer.h).
#include "launcher/RankTrainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <nlohmann/json.hpp>

#include "codegen/dist/DistDefaults.h"
#include "comm/DataType.h"
#include "ir/Interpreter.h"
#include "launcher/CharData.h"
#include "launcher/PipelineRank.h"
#include "launcher/RankMemory.h"
#include "partition/pipeline/PipelineStep.h"
#include "partition/exec/Shards.h"
#include "passes/Pipeline.h"

namespace tessera::launcher {

namespace {

// The compiled engine runs collectives once EngineOptions can carry the RankContext
// (codegen/dist/RankContext.h); detected at compile time so that this file builds either way.
template <class O>
constexpr bool engineTakesRank = requires(O o, codegen::RankContext* r) { o.rank = r; };

template <class O>
void setEngineRank(O& o, codegen::RankContext& r) {
  if constexpr (engineTakesRank<O>) o.rank = &r;
}

}  // namespace

struct RankTrainer::Impl {
  const DistributedPlan& plan;
  codegen::RankContext& rank;
  RankTrainOptions o;
  const ir::Function* local = nullptr;
  int64_t me = 0;
  // Character data (empty corpus: none), drawn exactly like single-device `tessera train`.
  std::optional<CharCorpus> corpus;
  std::mt19937_64 rng;
  int64_t batch = 0, seq = 0;
  int tokensIndex = -1, targetsIndex = -1;
  int64_t tokensPerStep = 1;
  std::vector<int> carried;  // argument index of result 1 + i
  // Per argument of `local`: name, layout, role (the plan's list; a pipeline rank's own), and
  // the arguments drawn from the character data each step (pipeline: per micro-batch).
  std::vector<PlanArgument> argInfo;
  struct DataArg {
    int index;
    bool targets;
    int microBatch;  // -1: the whole batch
  };
  std::vector<DataArg> dataArgs;
  ir::Sharding lossSharding;
  std::vector<std::string> carriedNames;
  bool pipeline = false;
  // The interpreter: every argument's current local value, and the runtime of the collectives.
  std::vector<ir::Tensor> args;
  std::unique_ptr<ir::RankRuntime> runtime;
  std::unique_ptr<codegen::Engine> engine;
  // What this rank's collectives cost in each step (the compiled engine's DistStats, per step).
  std::vector<codegen::DistStats> comm;
  // Compiled engine: this rank's planned and measured memory (RankMemory.h), and every rank's
  // (gathered after the first step, again after the last).
  RankMemory memory;
  std::vector<RankMemory> ranksMemory;

  Impl(const DistributedPlan& p, codegen::RankContext& r, RankTrainOptions opts)
      : plan(p), rank(r), o(std::move(opts)) {}

  int argIndex(const std::string& name) const {
    for (int i = 0; i < local->numArguments(); ++i)
      if (local->argument(i)->name() == name) return i;
    return -1;
  }

  // This rank's piece of the global tensor of argument i.
  ir::Tensor shard(int i, const ir::Tensor& global) const {
    return partition::shardOf(global, plan.mesh, argInfo[i].sharding, me);
  }

  // The step's loss from this rank's piece of it: the partitioner may leave the loss a pending sum
  // over the batch axes (each rank's term of the global mean); the terms are gathered and summed
  // by the same rule as any partial value (Shards.h), in rank order, so every rank prints the same.
  StatusOr<double> globalLoss(double piece) const {
    const ir::Sharding& s = lossSharding;
    // A pipeline's coordinates hold the loss in different layouts: all gather or none
    // (PipelineRank.h), each assembling its own coordinate's pieces.
    if (pipeline ? !pipelineLossGathered(plan) : s.isFullyReplicated()) return piece;
    comm::Communicator& world = rank.world();
    std::vector<double> all(world.size());
    if (comm::Status st = world.allGather(&piece, all.data(), 1, comm::DataType::F64); !st.isOk())
      return Status::error(st.message());
    if (pipeline) all = pipelineCoordinatePieces(plan, me, all);
    const ir::DType dt = plan.globalFunction().results()[0]->type().dtype;
    std::vector<ir::Tensor> pieces;
    for (double v : all) pieces.push_back(ir::Tensor::scalar(dt, v));
    TRY_ASSIGN(ir::Tensor g, partition::assemble(pieces, plan.mesh, s, {}));
    return g[0];
  }

  StatusOr<ir::Tensor> current(const std::string& name) const {
    if (engine) return engine->readArgument(name);
    const int i = argIndex(name);
    if (i < 0) return Status::error("no argument %" + name + " in @" + local->name());
    return args[i];
  }

  // Pipeline plans: every tensor as held by the ranks of its owner's pipeline coordinate
  // (PipelineRank.h); the other ranks contribute zeros of the same local shape to the gather.
  StatusOr<std::map<std::string, ir::Tensor>> pipelineParameters(const std::vector<std::string>& names) const {
    comm::Communicator& world = rank.world();
    const PipelinePlan& pl = plan.pipeline;
    const int ppAxis = plan.mesh.axisIndex(pl.axis);
    const int64_t mine = pipelineCoordinate(plan, me);
    std::map<std::string, ir::Tensor> out;
    for (const std::string& n : names) {
      const int64_t owner = pipelineOwner(plan, n);
      const ir::Parameter* p = plan.global->findParam(n);
      if (!p || !p->init) return Status::error("the plan has no value for %" + n);
      ir::Sharding sharding = ir::Sharding::replicated(p->init->rank());
      sharding.mesh = plan.mesh.name;
      if (const ir::Function* of = plan.local->findFunction(pl.functions.at(owner));
          of && owner < static_cast<int64_t>(pl.argShardings.size()) && !pl.argShardings[owner].empty())
        for (int i = 0; i < of->numArguments(); ++i)
          if (of->argument(i)->name() == n) sharding = pl.argShardings[owner][i];
      ir::Tensor piece = partition::shardOf(*p->init, plan.mesh, sharding, me);
      if (mine == owner) {
        TRY_ASSIGN(piece, current(n));
      } else {
        piece = ir::Tensor(piece.dtype(), piece.shape());
      }
      const size_t count = static_cast<size_t>(piece.numElements());
      std::vector<double> all(count * world.size());
      if (comm::Status st = world.allGather(piece.data().data(), all.data(), count, comm::DataType::F64);
          !st.isOk())
        return Status::error(st.message());
      std::vector<ir::Tensor> pieces;
      for (int w = 0; w < world.size(); ++w) {
        std::vector<int64_t> c = partition::rankCoordinates(plan.mesh, w);
        c[ppAxis] = owner;
        int64_t from = 0;
        for (size_t a = 0; a < plan.mesh.axes.size(); ++a) from = from * plan.mesh.axes[a].size + c[a];
        pieces.emplace_back(piece.dtype(), piece.shape(),
                            std::vector<double>(all.begin() + from * count, all.begin() + (from + 1) * count));
      }
      TRY_ASSIGN(ir::Tensor g, partition::assemble(pieces, plan.mesh, sharding, p->init->shape()));
      out[n] = std::move(g);
    }
    return out;
  }

  // After step `step` ran on the engine: the plan (first step, at its symbols), the allocator's
  // peak so far, and the step's C++ heap. Never an error that only some ranks would see before
  // the collective that follows: a plan that cannot be made leaves the planned figures at 0.
  Status recordMemory(int step, int64_t heapBytes, const StatusOr<std::map<std::string, int64_t>>& symbols) {
    if (step == 1) {
      StatusOr<RankMemory> m =
          symbols.isOk() ? planAndMeasure(*engine, *symbols) : StatusOr<RankMemory>(symbols.status());
      if (m.isOk()) memory = *m;
      memory.heapFirstStepBytes = heapBytes;
      TRY_ASSIGN(ranksMemory, gatherRankMemory(rank.world(), memory));
    } else {
      memory.heapLaterStepBytes = std::max(memory.heapLaterStepBytes, heapBytes);
    }
    memory.measuredPeakBytes = engine->measuredPeakBytes();
    return Status::ok();
  }

  StatusOr<std::map<std::string, ir::Tensor>> stepInputs() {
    std::map<std::string, ir::Tensor> in;
    if (!corpus) return in;
    CharBatch b = corpus->sample(batch, seq, rng);
    for (const DataArg& d : dataArgs) {
      ir::Tensor t = d.targets ? b.targets : b.tokens;
      if (d.microBatch >= 0) {
        TRY_ASSIGN(t, partition::pipeline::microBatchOf(t, d.microBatch, plan.pipeline.microBatches,
                                                        "%" + argInfo[d.index].name));
      }
      in[argInfo[d.index].name] = shard(d.index, t);
    }
    return in;
  }
};

RankTrainer::RankTrainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RankTrainer::~RankTrainer() = default;

int64_t RankTrainer::tokensPerStep() const { return impl_->tokensPerStep; }

StatusOr<std::unique_ptr<RankTrainer>> RankTrainer::create(const DistributedPlan& plan,
                                                           codegen::RankContext& rank,
                                                           const RankTrainOptions& o) {
  auto impl = std::make_unique<Impl>(plan, rank, o);
  Impl& I = *impl;
  I.me = rank.worldRank();
  I.pipeline = plan.pipeline.active();
  if (I.pipeline) {
    // A pipeline rank runs the step of its pipeline coordinate (PipelineRank.h).
    TRY_ASSIGN(PipelineRankFunction pf, pipelineRankFunction(plan, I.me));
    I.local = pf.function;
    for (RankArgument& a : pf.arguments) I.argInfo.push_back(std::move(a.arg));
    I.lossSharding = pf.lossSharding;
  } else {
    I.local = &plan.localFunction();
    I.argInfo = plan.arguments;
    I.lossSharding = plan.resultShardings[0];
  }
  if (o.steps < 1) return Status::error("--steps: must be >= 1, got " + std::to_string(o.steps));
  if (o.engine == TrainLoopOptions::EngineKind::Compiled &&
      !engineTakesRank<codegen::EngineOptions>)
    return Status::error("the compiled engine cannot run collectives in this build; use "
                         "--engine=interp");

  // ---- data ----
  const bool chars = plan.data.batch > 0;
  if (!chars && (o.batch || o.seq || !o.corpus.empty()))
    return Status::error("--batch/--seq/--data: this plan's step takes no character data");
  if (chars) {
    I.batch = o.batch ? o.batch : plan.data.batch;
    I.seq = o.seq ? o.seq : plan.data.seq;
    if (I.batch < 1 || I.seq < 1) return Status::error("--batch and --seq must be >= 1");
    const ir::Function& gf = plan.globalFunction();
    int globalTokens = -1;
    for (int i = 0; i < gf.numArguments(); ++i)
      if (gf.argument(i)->name() == plan.data.tokensArg) globalTokens = i;
    if (I.pipeline) {
      // Micro-batches of the tokens (first stage) and targets (last stage).
      TRY_ASSIGN(PipelineRankFunction pf, pipelineRankFunction(plan, I.me));
      for (int i = 0; i < static_cast<int>(pf.arguments.size()); ++i) {
        const RankArgument& a = pf.arguments[i];
        if (a.microBatch < 0) continue;
        if (a.source != plan.data.tokensArg && a.source != plan.data.targetsArg)
          return Status::error("pipeline step argument %" + a.arg.name + ": only the character data "
                               "arguments can be split into micro-batches");
        I.dataArgs.push_back({i, a.source == plan.data.targetsArg, a.microBatch});
      }
      if (globalTokens < 0)
        return Status::error("the plan's step has no %" + plan.data.tokensArg + " argument");
      if (I.batch % plan.pipeline.microBatches != 0)
        return Status::error("--batch " + std::to_string(I.batch) + ": the pipeline's " +
                             std::to_string(plan.pipeline.microBatches) +
                             " micro-batches do not divide it");
    } else {
      I.tokensIndex = I.argIndex(plan.data.tokensArg);
      I.targetsIndex = I.argIndex(plan.data.targetsArg);
      if (I.tokensIndex < 0 || I.targetsIndex < 0)
        return Status::error("the plan's step has no %" + plan.data.tokensArg + "/%" +
                             plan.data.targetsArg + " arguments for its character data");
      I.dataArgs = {{I.tokensIndex, false, -1}, {I.targetsIndex, true, -1}};
      globalTokens = I.tokensIndex;
    }
    // A fixed sequence length in the model must match --seq.
    const ir::Shape& shape = gf.argument(globalTokens)->type().shape;
    if (shape.size() != 2) return Status::error("%" + plan.data.tokensArg + " must be of rank 2");
    if (auto s = shape[1].constant(); s && *s != I.seq)
      return Status::error("--seq " + std::to_string(I.seq) + ": the model's sequence length is " +
                           std::to_string(*s));
    if (auto b = shape[0].constant(); b && *b != I.batch)
      return Status::error("--batch " + std::to_string(I.batch) + ": the model's batch is " +
                           std::to_string(*b));
    const std::string path =
        !o.corpus.empty() ? o.corpus : (!plan.data.corpus.empty() ? plan.data.corpus : kDefaultCorpus);
    TRY_ASSIGN(CharCorpus c, CharCorpus::load(path, I.seq));
    I.corpus = std::move(c);
    I.rng.seed(o.seed ? *o.seed : plan.data.seed);
    I.tokensPerStep = I.batch * I.seq;
  }

  // ---- initial values: this rank's shard of every global value the plan holds ----
  I.args.resize(I.local->numArguments());
  auto isData = [&](int i) {
    for (const Impl::DataArg& d : I.dataArgs)
      if (d.index == i) return true;
    return false;
  };
  for (int i = 0; i < I.local->numArguments(); ++i) {
    if (isData(i)) continue;
    const std::string& name = I.argInfo[i].name;
    const ir::Parameter* p = plan.global->findParam(name);
    if (!p || !p->init)
      return Status::error("the plan has no value for argument %" + name + " of @" +
                           plan.function);
    I.args[i] = I.shard(i, *p->init);
  }
  if (I.pipeline) {
    // The parameters and state this rank's step carries, in its argument order (its results).
    for (int i = 0; i < I.local->numArguments(); ++i)
      if (I.argInfo[i].role != ArgRole::Data) {
        I.carried.push_back(i);
        I.carriedNames.push_back(I.argInfo[i].name);
      }
  } else {
    for (const auto* names : {&plan.params, &plan.state})
      for (const std::string& n : *names) {
        const int i = I.argIndex(n);
        if (i < 0) return Status::error("the plan's step has no argument %" + n);
        I.carried.push_back(i);
        I.carriedNames.push_back(n);
      }
  }
  // How collectives run (codegen/dist/DistDefaults.h): CPU ranks block by default;
  // TESSERA_DIST_ASYNC=1 overlaps them (start/done + TESSERA_DIST_BUCKET_BYTES buckets).
  // Read before the engine is compiled: the compiled engine schedules its start/done thunks and
  // buckets at compile time.
  {
    TRY_ASSIGN(codegen::DistOptions d, codegen::distOptionsFromEnvironment(comm::DeviceKind::Cpu));
    rank.options.async = d.async;
    rank.options.bucketBytes = d.bucketBytes;
  }
  // ---- the engine ----
  if (o.engine == TrainLoopOptions::EngineKind::Compiled) {
    codegen::EngineOptions eo = o.engineOptions;
    setEngineRank(eo, rank);
    for (int i : I.carried)
      (I.argInfo[i].role == ArgRole::Parameter ? eo.parameters : eo.optimizerState).insert(I.argInfo[i].name);
    const auto start = std::chrono::steady_clock::now();
    TRY_ASSIGN(I.engine, codegen::Engine::compile(*plan.local, I.local->name(), eo));
    if (o.log)
      *o.log << "engine: " << I.engine->executable().thunks.size() << " thunks, built in "
             << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
             << " s" << std::endl;
    for (size_t r = 0; r < I.carried.size(); ++r)
      TRY(I.engine->aliasResult(static_cast<int>(r + 1), I.argInfo[I.carried[r]].name));
    for (int i = 0; i < I.local->numArguments(); ++i) {
      if (isData(i)) continue;
      TRY(I.engine->setArgument(I.argInfo[i].name, I.args[i]));
    }
    I.args.clear();  // the engine holds them now
  } else {
    I.runtime = codegen::makeRankRuntime(rank);
  }
  return std::unique_ptr<RankTrainer>(new RankTrainer(std::move(impl)));
}

StatusOr<std::vector<StepRecord>> RankTrainer::run() {
  Impl& I = *impl_;
  std::vector<StepRecord> records;
  StepHeap heap;
  for (int step = 1; step <= I.o.steps; ++step) {
    const auto start = std::chrono::steady_clock::now();
    heap.begin();
    TRY_ASSIGN(auto inputs, I.stepInputs());
    // The symbols the first step binds, for the engine's plan (made after the step).
    StatusOr<std::map<std::string, int64_t>> symbols = std::map<std::string, int64_t>{};
    if (I.engine && step == 1) symbols = I.engine->symbolsFor(inputs);
    double loss = 0;
    const codegen::DistStats before = I.rank.stats();
    if (I.engine) {
      StatusOr<std::vector<ir::Tensor>> r = I.engine->run(inputs);
      if (!r.isOk())
        return passes::withNote(r.status(), "note: at training step " + std::to_string(step));
      loss = (*r)[0][0];
      inputs.clear();  // the micro-batch slices count in the step's heap, not after it
    } else {
      for (auto& [name, t] : inputs) I.args[I.argIndex(name)] = std::move(t);
      StatusOr<ir::InterpretResult> r = ir::interpret(*I.local, I.args, *I.runtime);
      if (!r.isOk())
        return passes::withNote(r.status(), "note: at training step " + std::to_string(step));
      for (size_t k = 0; k < I.carried.size(); ++k)
        I.args[I.carried[k]] = std::move(r->outputs[k + 1]);
      loss = r->outputs[0][0];
    }
    codegen::DistStats c = I.rank.stats();
    c.collectives -= before.collectives, c.calls -= before.calls, c.bytes -= before.bytes;
    c.waitSeconds -= before.waitSeconds, c.issueSeconds -= before.issueSeconds;
    c.inflightSeconds -= before.inflightSeconds, c.overlappedSeconds -= before.overlappedSeconds;
    I.comm.push_back(c);
    TRY_ASSIGN(loss, I.globalLoss(loss));
    StepRecord rec;
    rec.step = step;
    rec.loss = loss;
    rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rec.tokensPerSecond = rec.seconds > 0 ? static_cast<double>(I.tokensPerStep) / rec.seconds : 0;
    const int64_t heapBytes = heap.end();
    if (I.engine) TRY(I.recordMemory(step, heapBytes, symbols));
    if (I.o.progress) *I.o.progress << progressLine(rec, I.o.steps) << std::endl;
    if (I.o.logJson) {
      // The step's record plus this rank's communication in it.
      nlohmann::ordered_json j = nlohmann::ordered_json::parse(jsonLine(rec));
      j["comm_calls"] = c.calls;
      j["comm_bytes"] = c.bytes;
      j["comm_exposed_s"] = c.waitSeconds;
      j["comm_issue_s"] = c.issueSeconds;
      j["comm_inflight_s"] = c.inflightSeconds;
      j["comm_overlapped_s"] = c.overlappedSeconds;
      if (I.engine) {
        // This rank's memory (RankMemory.h); after the first step, every rank's peaks too.
        j["planned_peak_bytes"] = I.memory.plannedPeakBytes;
        j["measured_peak_bytes"] = I.memory.measuredPeakBytes;
        j["heap_step_bytes"] = heapBytes;
        if (step == 1) {
          std::vector<int64_t> planned, measured;
          for (const RankMemory& m : I.ranksMemory) {
            planned.push_back(m.plannedPeakBytes);
            measured.push_back(m.measuredPeakBytes);
          }
          j["ranks_planned_peak_bytes"] = planned;
          j["ranks_measured_peak_bytes"] = measured;
        }
      }
      *I.o.logJson << j.dump() << std::endl;
    }
    if (I.o.log) *I.o.log << progressLine(rec, I.o.steps) << std::endl;
    records.push_back(rec);
    if (!std::isfinite(loss))
      return Status::error("step " + std::to_string(step) + ": the loss is " +
                           (std::isnan(loss) ? "nan" : "infinite") +
                           "; training diverged (try a lower --lr, or --clip)");
  }
  if (I.o.progress) *I.o.progress << communicationSummary(records) << std::flush;
  if (I.o.log) *I.o.log << communicationSummary(records) << std::flush;
  if (I.engine) {
    // Every rank's final figures (a collective: every rank got here after the same steps).
    TRY_ASSIGN(I.ranksMemory, gatherRankMemory(I.rank.world(), I.memory));
    if (I.o.log) *I.o.log << rankMemoryLine(I.me, I.memory) << "engine " << I.memory.report << std::flush;
    if (I.o.progress) *I.o.progress << rankMemoryTable(I.ranksMemory) << std::flush;
  }
  return records;
}

std::string RankTrainer::communicationSummary(const std::vector<StepRecord>& records) const {
  const std::vector<codegen::DistStats>& comm = impl_->comm;
  if (comm.empty() || records.size() != comm.size()) return "";
  int64_t calls = 0;
  for (const codegen::DistStats& c : comm) calls += c.calls;
  if (calls == 0) return "";
  // Medians over the steps after the first (which builds caches and touches the arena first).
  const size_t from = comm.size() > 1 ? 1 : 0;
  auto median = [&](auto get) {
    std::vector<double> v;
    for (size_t i = from; i < comm.size(); ++i) v.push_back(get(i));
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  const double step = median([&](size_t i) { return records[i].seconds; });
  const double wait = median([&](size_t i) { return comm[i].waitSeconds; });
  const double issue = median([&](size_t i) { return comm[i].issueSeconds; });
  const double inflight = median([&](size_t i) { return comm[i].inflightSeconds; });
  const double overlapped = median([&](size_t i) { return comm[i].overlappedSeconds; });
  char buf[480];
  std::snprintf(buf, sizeof buf,
                "communication (rank %lld, median per step): %lld calls, %.2f MB, exposed wait "
                "%.1f ms + pack/reduce %.1f ms of a %.1f ms step; in flight %.1f ms, of it "
                "%.1f ms under compute (%s)\n",
                static_cast<long long>(impl_->me), static_cast<long long>(comm.back().calls),
                comm.back().bytes / 1e6, 1e3 * wait, 1e3 * issue, 1e3 * step, 1e3 * inflight,
                1e3 * overlapped,
                impl_->rank.options.async ? "async start/done" : "blocking");
  return buf;
}

const RankMemory& RankTrainer::memory() const { return impl_->memory; }

const std::vector<RankMemory>& RankTrainer::ranksMemory() const { return impl_->ranksMemory; }

StatusOr<ir::Tensor> RankTrainer::localArgument(const std::string& name) const {
  const Impl& I = *impl_;
  if (I.engine) return I.engine->readArgument(name);
  const int i = I.argIndex(name);
  if (i < 0) return Status::error("no argument %" + name + " in @" + I.local->name());
  return I.args[i];
}

StatusOr<std::map<std::string, ir::Tensor>> RankTrainer::globalParameters(bool withState) const {
  const Impl& I = *impl_;
  comm::Communicator& world = I.rank.world();
  std::map<std::string, ir::Tensor> out;
  std::vector<std::string> names = I.plan.params;
  if (withState) names.insert(names.end(), I.plan.state.begin(), I.plan.state.end());
  if (I.pipeline) return I.pipelineParameters(names);
  for (const std::string& n : names) {
    TRY_ASSIGN(ir::Tensor piece, localArgument(n));
    // Every rank's piece has the same local shape; exchanged as f64 (exact for every dtype a
    // parameter has).
    const size_t count = static_cast<size_t>(piece.numElements());
    std::vector<double> all(count * world.size());
    if (comm::Status st = world.allGather(piece.data().data(), all.data(), count,
                                          comm::DataType::F64);
        !st.isOk())
      return Status::error(st.message());
    std::vector<ir::Tensor> pieces;
    for (int r = 0; r < world.size(); ++r)
      pieces.emplace_back(piece.dtype(), piece.shape(),
                          std::vector<double>(all.begin() + r * count,
                                              all.begin() + (r + 1) * count));
    const int i = I.argIndex(n);
    const ir::Shape& shape = I.plan.globalFunction().argument(i)->type().shape;
    std::vector<int64_t> globalShape;
    for (const ir::Dim& d : shape) {
      std::optional<int64_t> c = d.constant();
      if (!c) return Status::error("%" + n + " has a symbolic global shape");
      globalShape.push_back(*c);
    }
    TRY_ASSIGN(ir::Tensor g, partition::assemble(pieces, I.plan.mesh,
                                                 I.plan.arguments[i].sharding, globalShape));
    out[n] = std::move(g);
  }
  return out;
}

}  // namespace tessera::launcher
