// Checking and timing a pipeline schedule by running its lists (Schedule.h) in a simulation.
//
// The check proves, before anything runs, what a hang or a silent mix-up would otherwise show at
// run time: every forward and backward of every (micro-batch, stage) runs exactly once on the
// rank that owns the stage; each runs only after its inputs exist on that rank (the activation
// received or computed locally, the backward after its own forward and the gradient from the
// next stage); every send has data to send and goes to the neighbour the stage graph says; the
// k-th message on each (sender, receiver) link is the one the receiver expects; and the lists
// finish. With SendSemantics::Rendezvous every send blocks until its receive is posted
// (MPI_Ssend), the strictest setting: a schedule that passes cannot hang whatever the transport
// buffers. Errors name the rank, the action's position and the action.
//
// The same simulation with unit compute times (forward 1, backward 2 per chunk by default) and
// free, buffered communication gives the timeline that Timeline.h draws and the measured bubble
// fraction: (makespan − ideal) / ideal with ideal = m·v·(forward + backward), the quantity the
// formulas of theoreticalBubble() predict.
#pragma once

#include <vector>

#include "partition/pipeline/Schedule.h"

namespace tessera::partition::pipeline {

enum class SendSemantics { Buffered, Rendezvous };

struct UnitCosts {
  double forward = 1;
  double backward = 2;
};

struct TimedAction {
  size_t index;  // position in the rank's list
  double start, end;
};

struct ScheduleTimes {
  std::vector<std::vector<TimedAction>> compute;  // per rank, its forward/backward actions
  double makespan = 0;
  double ideal = 0;           // per-rank busy time: m·v·(forward + backward)
  double bubbleFraction = 0;  // (makespan - ideal) / ideal
  // Per rank, the most (micro-batch, chunk) forwards whose backward had not run yet: the stage
  // inputs it holds at its peak (1F1B: p - r on rank r; GPipe: m everywhere).
  std::vector<int> peakInFlight;
};

// OK when the schedule is complete, respects every dependency and finishes under `semantics`;
// else the first problem found.
Status checkSchedule(const Schedule& s, SendSemantics semantics = SendSemantics::Rendezvous);

// Runs the lists with the given compute costs and free communication; errors as checkSchedule.
StatusOr<ScheduleTimes> simulateSchedule(const Schedule& s, UnitCosts costs = {},
                                         SendSemantics semantics = SendSemantics::Buffered);

}  // namespace tessera::partition::pipeline
