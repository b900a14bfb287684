// Drawing a pipeline schedule's timeline: per rank, what it computes in each unit of time, from
// the unit-time simulation of its action lists (ScheduleCheck.h). The text form is what
// `tessera plan --show-schedule` prints; the SVG form is the same picture for a browser.
//
//   schedule 1f1b p=2 m=4: F = forward (1 unit), B = backward (2 units), . = idle
//   rank 0 |F0 F1 .  B0----F2 B1----F3 B2----.  B3----
//   rank 1 |.  F0 B0----F1 B1----F2 B2----F3 B3----
//   bubble 0.250 (theory (p-1)/m = 0.250)
//
// Communication is instantaneous in this picture (it shows the schedule's bubble, not a network).
#pragma once

#include <string>

#include "partition/pipeline/ScheduleCheck.h"

namespace tessera::partition::pipeline {

// The text timeline; `times` from simulateSchedule(s, costs) with integral costs.
std::string drawTimeline(const Schedule& s, const ScheduleTimes& times);

// A standalone SVG document of the same timeline (one row per rank, one box per compute,
// forward and backward in two colours, darker for later chunks, labelled with the micro-batch).
std::string timelineSvg(const Schedule& s, const ScheduleTimes& times);

// Simulates with the default unit costs and draws; errors from simulateSchedule.
StatusOr<std::string> drawSchedule(const Schedule& s);

}  // namespace tessera::partition::pipeline
