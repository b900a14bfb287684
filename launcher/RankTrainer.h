// One rank of a distributed training job: what `tessera run PLAN` does on every rank of `mpirun`,
// and what the multi-rank equivalence tests call (tests/mpi/train_equivalence/), so both run the
// same code.
//
// Each rank starts from exactly its shard of the plan's global initial values (shardOf with the
// argument's sharding), so every plan starts from the single-device start; every rank draws the
// same global batch (same corpus, same seed, the same sampler as single-device `tessera train`)
// and takes its shard. Parameters and optimizer state stay in the engine between steps (results
// aliased to arguments); the loss is result 0, replicated on every rank.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "codegen/dist/RankContext.h"
#include "launcher/DistributedPlan.h"
#include "launcher/RankMemory.h"
#include "launcher/TrainLoop.h"

namespace tessera::launcher {

struct RankTrainOptions {
  int steps = 10;
  int64_t batch = 0, seq = 0;  // global; 0: the plan's
  std::string corpus;          // empty: the plan's, else the default corpus
  std::optional<uint64_t> seed;  // unset: the plan's
  TrainLoopOptions::EngineKind engine = TrainLoopOptions::EngineKind::Compiled;
  codegen::EngineOptions engineOptions;  // compiled engine; `rank` is set here
  std::ostream* progress = nullptr;  // one line per step (rank 0 of `tessera run`)
  std::ostream* logJson = nullptr;   // one JSON object per step
  std::ostream* log = nullptr;       // this rank's log (build, steps)
};

class RankTrainer {
 public:
  // Checks the options against the plan, loads the corpus, shards the initial values and builds
  // the engine. Issues no collective itself (the engine's build does not communicate).
  static StatusOr<std::unique_ptr<RankTrainer>> create(const DistributedPlan& plan,
                                                       codegen::RankContext& rank,
                                                       const RankTrainOptions& o);
  ~RankTrainer();

  // Runs the steps (every rank must call it): returns each step's record (loss, tokens/s for
  // the global batch). Stops with an error naming the step when the loss is not finite.
  StatusOr<std::vector<StepRecord>> run();

  // This rank's current piece of an argument (parameters and state: after the last step).
  StatusOr<ir::Tensor> localArgument(const std::string& name) const;
  // The global values of every parameter (and with `withState` every optimizer state tensor)
  // put together from every rank's piece: a collective over the world, every rank calls it and
  // every rank gets the result.
  StatusOr<std::map<std::string, ir::Tensor>> globalParameters(bool withState = false) const;

  int64_t tokensPerStep() const;

  // Compiled engine, after run(): this rank's planned and measured memory (RankMemory.h), and
  // every world rank's in rank order (empty on the interpreter). run() writes this rank's line
  // to its log, every rank's to the progress stream, and the peaks into each --log-json record.
  const RankMemory& memory() const;
  const std::vector<RankMemory>& ranksMemory() const;

  // One line on what this rank's collectives cost per step (median over the steps after the
  // first: calls, bytes, exposed wait, pack/reduce time, step time), "" when none ran; run()
  // prints it to the progress stream and the log after the last step. `records` are run()'s.
  std::string communicationSummary(const std::vector<StepRecord>& records) const;

 private:
  struct Impl;
  explicit RankTrainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::launcher
