// The in-flight bookkeeping of one communication call (see CallTimer.h).
#include "codegen/dist/CallTimer.h"

namespace tessera::codegen {

void CallTimer::issued() {
  issued_ = Clock::now();
  active_ = true;
  completedSeen_ = waiting_ = false;
}

void CallTimer::sawComplete() {
  if (active_ && !completedSeen_ && !waiting_) {
    completed_ = Clock::now();
    completedSeen_ = true;
  }
}

void CallTimer::beginWait() {
  if (!active_) return;
  waitBegan_ = Clock::now();
  waiting_ = true;
}

void CallTimer::endWait(DistStats& stats) {
  if (!active_) return;
  const Clock::time_point end = completedSeen_ ? completed_ : Clock::now();
  const Clock::time_point ranElsewhere = completedSeen_ ? completed_ : waiting_ ? waitBegan_ : end;
  stats.inflightSeconds += std::chrono::duration<double>(end - issued_).count();
  stats.overlappedSeconds += std::chrono::duration<double>(ranElsewhere - issued_).count();
  active_ = completedSeen_ = waiting_ = false;
}

}  // namespace tessera::codegen
