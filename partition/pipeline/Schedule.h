// Pipeline schedules as data: for p pipeline ranks, m micro-batches and v virtual stages (chunks)
// per rank, each rank's ordered list of actions — forward or backward of (micro-batch, chunk), and
// the sends and receives of activations (to the next stage) and gradients (to the previous one).
//
// Stage numbering: the model is cut into S = p·v stages; chunk c of rank r runs stage c·p + r
// (Megatron's interleaving: with v = 1 rank r runs stage r). Stage s sends its activations to
// stage s+1, which lives on rank (r+1) mod p.
//
// Why lists and not a formula: the same list is drawn (Timeline.h), checked for completeness and
// hang freedom (ScheduleCheck.h), priced by unit-time simulation (the bubble), and followed by the
// executor (PipelineExecutor.h). Whatever runs is exactly what was checked.
//
// How sends and receives are placed: the compute order per rank is the schedule's definition
// (GPipe: all forwards then all backwards; 1F1B: p-1-r warm-up forwards then one forward, one
// backward; interleaved: Megatron's virtual micro-batch order). A unit-time simulation of that
// order without communication cost gives every message its consumption time t_c. Each rank lists
// its communication in increasing (t_c, tie-break) order — the same global order on both ends of
// every message — so the lists cannot deadlock even if every send blocks until its receive
// (the smallest outstanding message can always complete). Receives sit right before the compute
// that needs them and sends no later than their consumer starts, so the lists also reproduce the
// ideal timing (the bubble the formulas predict).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ir/Status.h"

namespace tessera::partition::pipeline {

enum class ScheduleKind { GPipe, OneFOneB, Interleaved };

const char* scheduleKindName(ScheduleKind k);  // "gpipe", "1f1b", "interleaved"
// Accepts the names above (case-insensitive; also "pipedream-flush" for 1F1B); the error lists them.
StatusOr<ScheduleKind> parseScheduleKind(std::string_view name);

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::OneFOneB;
  int ranks = 1;          // p: pipeline ranks
  int microBatches = 1;   // m
  int virtualStages = 1;  // v: chunks per rank (interleaved only)

  int numStages() const { return ranks * virtualStages; }
  int rankOfStage(int s) const { return s % ranks; }
  int chunkOfStage(int s) const { return s / ranks; }
  int stageOf(int rank, int chunk) const { return chunk * ranks + rank; }
};

// Errors: p, m or v < 1; v != 1 for a schedule without virtual stages; interleaved with v < 2 or
// with m not a multiple of p (its micro-batch order walks the ranks in groups of p).
Status validateConfig(const ScheduleConfig& c);

enum class ActionKind { Forward, Backward, SendActivation, RecvActivation, SendGradient, RecvGradient };

struct Action {
  ActionKind kind = ActionKind::Forward;
  int microBatch = 0;
  int chunk = 0;
  // Send/receive: the other rank. The message is identified by (kind, microBatch, the sending
  // stage): an activation leaves stage s for s+1, a gradient leaves stage s for s-1; `chunk` is
  // the chunk of the rank that lists the action.
  int peer = -1;

  bool isCompute() const { return kind == ActionKind::Forward || kind == ActionKind::Backward; }
  bool isSend() const { return kind == ActionKind::SendActivation || kind == ActionKind::SendGradient; }
  bool isRecv() const { return kind == ActionKind::RecvActivation || kind == ActionKind::RecvGradient; }
  bool operator==(const Action&) const = default;
};

struct Schedule {
  ScheduleConfig config;
  std::vector<std::vector<Action>> ranks;  // ranks[r]: rank r's actions in order
};

// Builds the schedule; errors from validateConfig.
StatusOr<Schedule> buildSchedule(const ScheduleConfig& c);

// Compact text of one action: F3 / B3 (forward/backward of micro-batch 3), Sa3>1 / Ra3<0 (send
// activation to rank 1 / receive from rank 0), Sg3>0 / Rg3<1 (gradients); with v > 1 the chunk
// follows a colon: F3:1.
std::string actionStr(const Action& a, int virtualStages);
// One line per rank: "rank 0: F0 Sa0>1 F1 ...", after a header naming the schedule.
std::string printSchedule(const Schedule& s);

// The bubble fraction the literature predicts: (p-1)/m for GPipe and 1F1B, (p-1)/(v·m) for
// interleaved 1F1B (bubble time over ideal compute time, uniform stages, free communication).
double theoreticalBubble(const ScheduleConfig& c);

}  // namespace tessera::partition::pipeline
