// CallTimer: how long one communication call was in flight and how much of that the rank spent
// running other thunks rather than blocked in the call's wait — the honest "hidden behind
// compute" figure of DistStats (inflightSeconds / overlappedSeconds). CollectiveCall and the
// gradient buckets (Bucketing.h) each keep one per call.
#pragma once

#include <chrono>

#include "codegen/dist/RankContext.h"

namespace tessera::codegen {

// The in-flight time of one communication call and the part of it the rank did not spend blocked
// in the call's wait (DistStats::inflightSeconds / overlappedSeconds).
class CallTimer {
 public:
  void issued();        // in flight from now
  void sawComplete();   // a poll saw it complete (the first sighting counts)
  void beginWait();     // its done reached the wait
  void endWait(DistStats& stats);  // the wait returned: adds the call's times
 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point issued_, completed_, waitBegan_;
  bool active_ = false, completedSeen_ = false, waiting_ = false;
};

}  // namespace tessera::codegen
