// One rank's memory in a distributed run (`tessera run`, `tessera train -np`): the engine's plan
// for its step against what its allocator really used — issue 6's "per-stage peak memory against
// the plan", which the process's RSS cannot check (its baseline of code, LLVM and MPI is several
// times a small model's step).
//
// What is planned and what is measured, per category:
//   arguments  parameters, optimizer state, the step's data (its micro-batches on a pipeline rank):
//              planned from the bound shapes, measured from the storage the engine holds;
//   arena      everything the step computes: planned = the buffer plan's arena size (liveness,
//              fragmentation included), measured = the highest arena byte any thunk wrote
//              (the runtime's pointers, CpuRuntime::measuredArenaPeak);
//   outside    what C++ new allocates during a step (codegen/memory/HeapCounter.h): collective
//              staging, library-kernel temporaries, the micro-batch slices and shards the rank
//              trainer cuts, the loss gather — not planned by anyone, so reported on its own:
//              the heap's high-water mark during the step above its level at the step's start.
//   gemm       the own sgemm's packing buffers (the default GEMM on AVX2 + FMA): planned from
//              the step's GEMM shapes (MemoryReport::gemmWorkspaceBytes, inside plannedPeakBytes),
//              measured as what the engine's workspace holds (inside measuredPeakBytes).
// Not measurable here: OpenBLAS's packing buffers (allocated by the library once, outside any
// step; TESSERA_GEMM=openblas) and MPI's internal buffers.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "codegen/Engine.h"
#include "comm/Communicator.h"

namespace tessera::launcher {

struct RankMemory {
  int64_t plannedPeakBytes = 0;      // arguments + arena + gemm (codegen::MemoryReport::peakBytes)
  int64_t plannedArgumentBytes = 0;
  int64_t plannedArenaBytes = 0;
  // Arguments + the arena buffers live at the plan's peak: plannedPeakBytes minus this is the
  // arena's fragmentation (first-fit leaves holes that the live bytes do not count).
  int64_t plannedLiveBytes = 0;
  int64_t measuredPeakBytes = 0;     // argument storage + highest arena byte written + gemm
  // The own sgemm's packing workspace inside the two peaks (0 with OpenBLAS): planned from the
  // step's GEMM shapes and the engine's thread count, measured as what its workspace holds.
  int64_t plannedGemmBytes = 0;
  int64_t measuredGemmBytes = 0;
  // C++ heap above the step's start at its high-water mark: the first step (it also builds the
  // runtime's per-symbol plan) and the largest of the later steps; -1: not counted.
  int64_t heapFirstStepBytes = -1;
  int64_t heapLaterStepBytes = -1;
  std::string report;  // the engine's memory report (this rank only; not gathered)

  double ratio() const {
    return plannedPeakBytes > 0 ? static_cast<double>(measuredPeakBytes) / plannedPeakBytes : 0;
  }
};

// The engine's plan for a step at these symbol values (Engine::symbolsFor the step's inputs) and
// its allocator's measured peak so far (call after the step ran).
StatusOr<RankMemory> planAndMeasure(codegen::Engine& engine, const std::map<std::string, int64_t>& symbols);

// Every world rank's figures in rank order (a collective: every rank calls it).
StatusOr<std::vector<RankMemory>> gatherRankMemory(comm::Communicator& world, const RankMemory& mine);

// The C++ heap during one step: begin() at its start, end() after it; bytes above the start at
// the high-water mark in between (-1 when the counting allocator is not available).
class StepHeap {
 public:
  void begin();
  int64_t end() const;

 private:
  int64_t start_ = 0;
};

// This rank's line for its log (rank r):
//   memory (rank 1): planned peak 92416 bytes (arguments 30720 + arena 61696; live at the peak
//   80000), measured peak 92160 bytes (allocator; measured/planned 0.997); C++ heap during a
//   step: first 5120 bytes, later 2048 bytes
// (with the own sgemm's packing workspace: "arena 61696 + gemm packing 53312; live ...").
std::string rankMemoryLine(int64_t rank, const RankMemory& m);
// Rank 0's summary of every rank: one line per rank, planned / measured in MiB and the ratio.
std::string rankMemoryTable(const std::vector<RankMemory>& ranks);

}  // namespace tessera::launcher
