// The schedule simulation behind checkSchedule and simulateSchedule (ScheduleCheck.h).
#include "partition/pipeline/ScheduleCheck.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <tuple>

namespace tessera::partition::pipeline {

namespace {

// A message: activation (0) or gradient (1), micro-batch, sending stage.
using MessageId = std::tuple<int, int, int>;

struct Sent {
  MessageId id;
  double time;
};

class Simulation {
 public:
  Simulation(const Schedule& s, UnitCosts costs, SendSemantics sem)
      : s_(s), c_(s.config), costs_(costs), sem_(sem), pc_(c_.ranks, 0), clock_(c_.ranks, 0),
        done_(c_.ranks), received_(c_.ranks), times_(c_.ranks), inFlight_(c_.ranks, 0),
        peak_(c_.ranks, 0) {}

  StatusOr<ScheduleTimes> run() {
    if (static_cast<int>(s_.ranks.size()) != c_.ranks)
      return Status::error("schedule: " + std::to_string(s_.ranks.size()) + " rank lists for " +
                           std::to_string(c_.ranks) + " pipeline ranks");
    bool progress = true;
    while (progress) {
      progress = false;
      for (int r = 0; r < c_.ranks; ++r) {
        while (pc_[r] < s_.ranks[r].size()) {
          TRY_ASSIGN(bool stepped, step(r));
          if (!stepped) break;
          progress = true;
        }
      }
    }
    TRY(finished());
    ScheduleTimes out;
    out.compute = std::move(times_);
    for (double t : clock_) out.makespan = std::max(out.makespan, t);
    out.ideal = static_cast<double>(c_.microBatches) * c_.virtualStages * (costs_.forward + costs_.backward);
    out.bubbleFraction = (out.makespan - out.ideal) / out.ideal;
    out.peakInFlight = peak_;
    return out;
  }

 private:
  std::string where(int r, size_t i) const {
    return "schedule: rank " + std::to_string(r) + " action " + std::to_string(i) + " (" +
           actionStr(s_.ranks[r][i], c_.virtualStages) + ")";
  }

  // The message a send/receive action carries, after checking its stage and peer.
  StatusOr<MessageId> messageOf(int r, size_t i) const {
    const Action& a = s_.ranks[r][i];
    const int S = c_.numStages();
    const int s = c_.stageOf(r, a.chunk);
    bool act = a.kind == ActionKind::SendActivation || a.kind == ActionKind::RecvActivation;
    // The sending and receiving stage.
    int from = a.isSend() ? s : (act ? s - 1 : s + 1);
    int to = a.isSend() ? (act ? s + 1 : s - 1) : s;
    if (from < 0 || from >= S || to < 0 || to >= S)
      return Status::error(where(r, i) + ": stage " + std::to_string(s) + " has no " +
                           (act == a.isSend() ? "next" : "previous") + " stage");
    int peer = c_.rankOfStage(a.isSend() ? to : from);
    if (a.peer != peer)
      return Status::error(where(r, i) + ": the peer must be rank " + std::to_string(peer) +
                           " (stage " + std::to_string(a.isSend() ? to : from) + ")");
    if (peer == r)
      return Status::error(where(r, i) + ": stages " + std::to_string(from) + " and " +
                           std::to_string(to) + " are both on this rank; no message is needed");
    return MessageId{act ? 0 : 1, a.microBatch, from};
  }

  // Whether `dep` (forward?, stage, mb) is available on rank r: computed here or received.
  bool computed(int r, bool forward, int stage, int mb) const {
    return done_[r].count({forward, stage, mb}) != 0;
  }

  StatusOr<bool> step(int r) {
    const size_t i = pc_[r];
    const Action& a = s_.ranks[r][i];
    if (a.chunk < 0 || a.chunk >= c_.virtualStages || a.microBatch < 0 || a.microBatch >= c_.microBatches)
      return Status::error(where(r, i) + ": micro-batch or chunk out of range (m=" +
                           std::to_string(c_.microBatches) + ", v=" + std::to_string(c_.virtualStages) + ")");
    const int s = c_.stageOf(r, a.chunk), mb = a.microBatch, S = c_.numStages();
    if (a.isCompute()) {
      bool fwd = a.kind == ActionKind::Forward;
      if (computed(r, fwd, s, mb)) return Status::error(where(r, i) + ": runs twice");
      auto has = [&](bool forward, int stage) {
        if (c_.rankOfStage(stage) == r) return computed(r, forward, stage, mb);
        return received_[r].count({forward ? 0 : 1, mb, stage}) != 0;
      };
      if (fwd && s > 0 && !has(true, s - 1))
        return Status::error(where(r, i) + ": the activation of stage " + std::to_string(s - 1) +
                             " is not here yet");
      if (!fwd && !computed(r, true, s, mb))
        return Status::error(where(r, i) + ": runs before its forward");
      if (!fwd && s + 1 < S && !has(false, s + 1))
        return Status::error(where(r, i) + ": the gradient of stage " + std::to_string(s + 1) +
                             " is not here yet");
      double cost = fwd ? costs_.forward : costs_.backward;
      times_[r].push_back({i, clock_[r], clock_[r] + cost});
      clock_[r] += cost;
      done_[r].insert({fwd, s, mb});
      inFlight_[r] += fwd ? 1 : -1;
      peak_[r] = std::max(peak_[r], inFlight_[r]);
      ++pc_[r];
      return true;
    }
    TRY_ASSIGN(MessageId id, messageOf(r, i));
    const int peer = a.peer;
    if (a.isSend()) {
      bool act = a.kind == ActionKind::SendActivation;
      if (!computed(r, act, s, mb))
        return Status::error(where(r, i) + ": sends what its " + (act ? "forward" : "backward") +
                             " has not computed yet");
      if (sent_.count({r, id})) return Status::error(where(r, i) + ": sent twice");
      if (sem_ == SendSemantics::Buffered) {
        sent_.insert({r, id});
        channels_[{r, peer}].push_back({id, clock_[r]});
        ++pc_[r];
        return true;
      }
      return rendezvous(r, peer, id);
    }
    if (sem_ == SendSemantics::Rendezvous) {
      // Completes when the sender stands at the matching send (handled from its side).
      if (pc_[peer] < s_.ranks[peer].size() && s_.ranks[peer][pc_[peer]].isSend() &&
          s_.ranks[peer][pc_[peer]].peer == r) {
        TRY_ASSIGN(MessageId theirs, messageOf(peer, pc_[peer]));
        (void)theirs;
        return step(peer);
      }
      return false;
    }
    auto& q = channels_[{peer, r}];
    if (q.empty()) return false;
    if (q.front().id != id)
      return Status::error(where(r, i) + ": the next message from rank " + std::to_string(peer) +
                           " is " + messageStr(q.front().id) + ", not " + messageStr(id));
    clock_[r] = std::max(clock_[r], q.front().time);
    received_[r].insert(id);
    q.pop_front();
    ++pc_[r];
    return true;
  }

  // Sender r stands at a send of `id` to `peer`: completes if peer stands at a receive from r.
  StatusOr<bool> rendezvous(int r, int peer, const MessageId& id) {
    if (pc_[peer] >= s_.ranks[peer].size()) return false;
    const Action& b = s_.ranks[peer][pc_[peer]];
    if (!b.isRecv() || b.peer != r) return false;
    TRY_ASSIGN(MessageId theirs, messageOf(peer, pc_[peer]));
    if (theirs != id)
      return Status::error(where(peer, pc_[peer]) + ": rank " + std::to_string(r) + " sends " +
                           messageStr(id) + " instead (" + where(r, pc_[r]) + ")");
    double t = std::max(clock_[r], clock_[peer]);
    clock_[r] = clock_[peer] = t;
    sent_.insert({r, id});
    received_[peer].insert(id);
    ++pc_[r];
    ++pc_[peer];
    return true;
  }

  static std::string messageStr(const MessageId& id) {
    return std::string(std::get<0>(id) == 0 ? "the activation" : "the gradient") +
           " of micro-batch " + std::to_string(std::get<1>(id)) + " from stage " +
           std::to_string(std::get<2>(id));
  }

  Status finished() const {
    std::string stuck;
    for (int r = 0; r < c_.ranks; ++r)
      if (pc_[r] < s_.ranks[r].size())
        stuck += (stuck.empty() ? "" : "; ") + std::string("rank ") + std::to_string(r) +
                 " waits at action " + std::to_string(pc_[r]) + " (" +
                 actionStr(s_.ranks[r][pc_[r]], c_.virtualStages) + ")";
    if (!stuck.empty()) return Status::error("schedule deadlocks: " + stuck);
    for (int s = 0; s < c_.numStages(); ++s)
      for (int mb = 0; mb < c_.microBatches; ++mb)
        for (bool fwd : {true, false})
          if (!computed(c_.rankOfStage(s), fwd, s, mb))
            return Status::error("schedule: the " + std::string(fwd ? "forward" : "backward") +
                                 " of micro-batch " + std::to_string(mb) + " on stage " +
                                 std::to_string(s) + " (rank " + std::to_string(c_.rankOfStage(s)) +
                                 ") never runs");
    for (const auto& [link, q] : channels_)
      if (!q.empty())
        return Status::error("schedule: rank " + std::to_string(link.first) + " sends " +
                             messageStr(q.front().id) + " to rank " + std::to_string(link.second) +
                             ", which never receives it");
    return Status::ok();
  }

  const Schedule& s_;
  const ScheduleConfig& c_;
  UnitCosts costs_;
  SendSemantics sem_;
  std::vector<size_t> pc_;
  std::vector<double> clock_;
  std::vector<std::set<std::tuple<bool, int, int>>> done_;  // (forward, stage, mb)
  std::vector<std::set<MessageId>> received_;
  std::set<std::pair<int, MessageId>> sent_;
  std::map<std::pair<int, int>, std::deque<Sent>> channels_;
  std::vector<std::vector<TimedAction>> times_;
  std::vector<int> inFlight_, peak_;
};

}  // namespace

Status checkSchedule(const Schedule& s, SendSemantics semantics) {
  TRY(validateConfig(s.config));
  StatusOr<ScheduleTimes> t = Simulation(s, UnitCosts{}, semantics).run();
  return t.status();
}

StatusOr<ScheduleTimes> simulateSchedule(const Schedule& s, UnitCosts costs, SendSemantics semantics) {
  TRY(validateConfig(s.config));
  return Simulation(s, costs, semantics).run();
}

}  // namespace tessera::partition::pipeline
