// RankContext: what a compiled engine needs to run one rank of an SPMD program (the partitioner's
// local function, partition/spmd/SpmdPartitioner.h) — this rank's coordinates on the mesh, and one
// communicator per axis set the program's collectives and axis_index ops name.
//
//   auto world = comm::mpi::createWorld();
//   auto rank  = RankContext::create(**world, mesh, localFunction);   // collective over world
//   EngineOptions o; o.rank = rank->get();                              // collectives now run
//
// create() is a collective over `world`: every rank calls it with the same mesh and function (all
// ranks of an SPMD program have the same one), and it splits the communicators in one fixed order
// (sorted axis sets), so every rank issues the same MPI_Comm_split sequence. Mesh order is
// row-major over the mesh axes (Shards.h), the same as comm/Mesh.h.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "comm/Communicator.h"
#include "ir/Function.h"
#include "ir/Mesh.h"
#include "ir/RankRuntime.h"
#include "ir/Status.h"

namespace tessera::codegen {

// How the compiled engine runs this rank's collectives (additions to the lead's interface).
struct DistOptions {
  // Split each collective into a start thunk right after its operand is ready and a done thunk
  // just before its first consumer (codegen/dist/AsyncSchedule.h), so communication overlaps
  // compute. Off: every collective blocks where the program has it.
  bool async = true;
  // Gradient bucketing: all_reduces over the same axes that start back to back are packed into
  // one buffer of at most this many bytes and reduced with one call. 0: off.
  int64_t bucketBytes = 4 << 20;
  // The deterministic all_reduce (and a bucket's) runs in two phases at ring cost — each rank
  // reduces its chunk in rank order, then the chunks are gathered (TwoPhaseReduce.h) — for
  // buffers of at least this many bytes over groups of at least this many ranks; else every rank
  // gathers every buffer and reduces it whole. Same bits either way.
  int64_t twoPhaseMinBytes = 16 << 10;
  int twoPhaseMinRanks = 3;
  // A sum all_reduce of f32/f64 over a group of two, of at least this many bytes, runs in halves
  // straight between the operand and result buffers (PairReduce.h): half the memory traffic of
  // gather-then-reduce, the same bits. Negative: off.
  int64_t pairMinBytes = 16 << 10;
};

// What this rank's collectives cost so far (the engine's collective thunks add to it).
struct DistStats {
  int64_t collectives = 0;   // collective ops run (a bucket counts each member)
  int64_t calls = 0;         // communication calls issued (a bucket is one)
  int64_t bytes = 0;         // bytes this rank contributed
  double waitSeconds = 0;    // time blocked waiting for communication (exposed communication)
  double issueSeconds = 0;   // time packing, issuing and unpacking / reducing
  // Honest overlap: each call's time in flight (issue → its completion, as a poll between
  // thunks or its wait saw it), and the part of that the rank spent running other thunks rather
  // than blocked in the call's wait — the communication that really ran under compute. Blocking
  // collectives have none. (A CPU rank's packing and reduction are its own core's work: never
  // hidden, counted in issueSeconds.)
  double inflightSeconds = 0;
  double overlappedSeconds = 0;
};

class RankContext {
 public:
  // Errors: the mesh does not have world.size() devices; a collective names an axis the mesh lacks.
  static StatusOr<std::unique_ptr<RankContext>> create(comm::Communicator& world,
                                                       const ir::Mesh& mesh,
                                                       const ir::Function& local);
  ~RankContext();

  const ir::Mesh& mesh() const { return mesh_; }
  int worldRank() const;
  // Row-major position of this rank over `axes` (in the order listed); an unknown axis is an error.
  StatusOr<int64_t> position(const std::vector<std::string>& axes) const;
  // The communicator among the ranks that differ only along `axes` (created by create(); an axis
  // set it did not create is an error — communicators are never split lazily, that could hang).
  StatusOr<comm::Communicator*> communicator(const std::vector<std::string>& axes) const;
  comm::Communicator& world() const { return *world_; }

  DistOptions options;
  DistStats& stats() { return stats_; }

 private:
  RankContext(comm::Communicator& world, ir::Mesh mesh);
  comm::Communicator* world_;
  ir::Mesh mesh_;
  std::map<std::vector<std::string>, std::unique_ptr<comm::Communicator>> byAxes_;
  DistStats stats_;
};

// The interpreter's view of a RankContext (ir/RankRuntime.h), so `--engine=interp` runs an SPMD
// program under MPI through the same communicators.
std::unique_ptr<ir::RankRuntime> makeRankRuntime(RankContext& rank);

}  // namespace tessera::codegen
