// Building the schedules: compute order per rank, then the sends and receives placed by a
// unit-time simulation (see Schedule.h for why that placement cannot deadlock).
#include "partition/pipeline/Schedule.h"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <map>
#include <tuple>

namespace tessera::partition::pipeline {

const char* scheduleKindName(ScheduleKind k) {
  switch (k) {
    case ScheduleKind::GPipe: return "gpipe";
    case ScheduleKind::OneFOneB: return "1f1b";
    case ScheduleKind::Interleaved: return "interleaved";
  }
  return "?";
}

StatusOr<ScheduleKind> parseScheduleKind(std::string_view name) {
  std::string n;
  for (char ch : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (n == "gpipe") return ScheduleKind::GPipe;
  if (n == "1f1b" || n == "pipedream-flush") return ScheduleKind::OneFOneB;
  if (n == "interleaved" || n == "interleaved-1f1b") return ScheduleKind::Interleaved;
  return Status::error("unknown pipeline schedule '" + std::string(name) +
                       "' (expected gpipe, 1f1b or interleaved)");
}

Status validateConfig(const ScheduleConfig& c) {
  const std::string what = std::string("pipeline schedule ") + scheduleKindName(c.kind) + ": ";
  if (c.ranks < 1) return Status::error(what + "needs at least 1 pipeline rank, got " + std::to_string(c.ranks));
  if (c.microBatches < 1)
    return Status::error(what + "needs at least 1 micro-batch, got " + std::to_string(c.microBatches));
  if (c.virtualStages < 1)
    return Status::error(what + "needs at least 1 virtual stage, got " + std::to_string(c.virtualStages));
  if (c.kind != ScheduleKind::Interleaved && c.virtualStages != 1)
    return Status::error(what + "has no virtual stages (got " + std::to_string(c.virtualStages) +
                         "); use the interleaved schedule");
  if (c.kind == ScheduleKind::Interleaved) {
    if (c.virtualStages < 2)
      return Status::error(what + "needs at least 2 virtual stages per rank, got " +
                           std::to_string(c.virtualStages));
    if (c.microBatches % c.ranks != 0)
      return Status::error(what + "needs the number of micro-batches (" +
                           std::to_string(c.microBatches) + ") to be a multiple of the pipeline ranks (" +
                           std::to_string(c.ranks) + ")");
  }
  return Status::ok();
}

namespace {

struct Compute {
  bool forward;
  int microBatch, chunk;
};

// The compute order of rank r.
std::vector<Compute> computeOrder(const ScheduleConfig& c, int r) {
  const int p = c.ranks, m = c.microBatches, v = c.virtualStages;
  std::vector<Compute> out;
  switch (c.kind) {
    case ScheduleKind::GPipe:
      for (int k = 0; k < m; ++k) out.push_back({true, k, 0});
      for (int k = 0; k < m; ++k) out.push_back({false, k, 0});
      break;
    case ScheduleKind::OneFOneB: {
      int warm = std::min(p - 1 - r, m);
      for (int k = 0; k < warm; ++k) out.push_back({true, k, 0});
      for (int k = 0; k < m - warm; ++k) {
        out.push_back({true, warm + k, 0});
        out.push_back({false, k, 0});
      }
      for (int k = m - warm; k < m; ++k) out.push_back({false, k, 0});
      break;
    }
    case ScheduleKind::Interleaved: {
      // Megatron-LM's order (schedules.py, forward_backward_pipelining_with_interleaving):
      // virtual step k runs micro-batch (k / (p·v))·p + k mod p on chunk (k / p) mod v forward,
      // and the mirrored chunk v-1-((k / p) mod v) backward.
      const int total = m * v;
      auto mb = [&](int k) { return (k / (p * v)) * p + k % p; };
      auto fwd = [&](int k) { return Compute{true, mb(k), (k / p) % v}; };
      auto bwd = [&](int k) { return Compute{false, mb(k), v - 1 - (k / p) % v}; };
      int warm = m == p ? total : std::min((p - r - 1) * 2 + (v - 1) * p, total);
      for (int k = 0; k < warm; ++k) out.push_back(fwd(k));
      for (int k = 0; k < total - warm; ++k) {
        out.push_back(fwd(warm + k));
        out.push_back(bwd(k));
      }
      for (int k = total - warm; k < total; ++k) out.push_back(bwd(k));
      break;
    }
  }
  return out;
}

struct Timed {
  Compute c;
  double start = -1, end = -1;
};

// Earliest start of every compute in the given per-rank order with forward 1 and backward 2
// time units and free communication.
std::vector<std::vector<Timed>> idealTimes(const ScheduleConfig& c,
                                           const std::vector<std::vector<Compute>>& order) {
  const int p = c.ranks, S = c.numStages();
  // end[forward?][stage][mb]
  std::vector<std::vector<std::vector<double>>> done(
      2, std::vector<std::vector<double>>(S, std::vector<double>(c.microBatches, -1)));
  std::vector<std::vector<Timed>> out(p);
  std::vector<size_t> next(p, 0);
  std::vector<double> clock(p, 0);
  for (int r = 0; r < p; ++r)
    for (const Compute& x : order[r]) out[r].push_back({x});
  bool progress = true;
  while (progress) {
    progress = false;
    for (int r = 0; r < p; ++r) {
      while (next[r] < order[r].size()) {
        const Compute& x = order[r][next[r]];
        const int s = c.stageOf(r, x.chunk);
        double ready = clock[r];
        if (x.forward && s > 0) {
          double t = done[1][s - 1][x.microBatch];
          if (t < 0) break;
          ready = std::max(ready, t);
        }
        if (!x.forward) {
          double own = done[1][s][x.microBatch];
          if (own < 0) break;
          ready = std::max(ready, own);
          if (s < S - 1) {
            double t = done[0][s + 1][x.microBatch];
            if (t < 0) break;
            ready = std::max(ready, t);
          }
        }
        Timed& tx = out[r][next[r]];
        tx.start = ready;
        tx.end = ready + (x.forward ? 1.0 : 2.0);
        clock[r] = tx.end;
        done[x.forward ? 1 : 0][s][x.microBatch] = tx.end;
        ++next[r];
        progress = true;
      }
    }
  }
  for (int r = 0; r < p; ++r) assert(next[r] == order[r].size() && "compute order deadlocks");
  return out;
}

struct Message {
  double consumed;  // t_c: the consumer's start time (the global order's key)
  int kind;         // 0 activation, 1 gradient (tie-break)
  int microBatch;
  int fromStage;
  int fromRank, toRank;
  int fromChunk, toChunk;
  auto key() const { return std::tie(consumed, kind, microBatch, fromStage); }
};

}  // namespace

StatusOr<Schedule> buildSchedule(const ScheduleConfig& c) {
  TRY(validateConfig(c));
  const int p = c.ranks, S = c.numStages();
  std::vector<std::vector<Compute>> order;
  for (int r = 0; r < p; ++r) order.push_back(computeOrder(c, r));
  std::vector<std::vector<Timed>> times = idealTimes(c, order);

  // Start time of every compute, to find each message's consumer.
  std::map<std::tuple<bool, int, int>, double> startOf;  // (forward, stage, mb)
  for (int r = 0; r < p; ++r)
    for (const Timed& t : times[r])
      startOf[{t.c.forward, c.stageOf(r, t.c.chunk), t.c.microBatch}] = t.start;

  std::vector<Message> messages;
  for (int s = 0; s < S; ++s)
    for (int k = 0; k < c.microBatches; ++k) {
      if (s + 1 < S && c.rankOfStage(s + 1) != c.rankOfStage(s))
        messages.push_back({startOf.at({true, s + 1, k}), 0, k, s, c.rankOfStage(s),
                            c.rankOfStage(s + 1), c.chunkOfStage(s), c.chunkOfStage(s + 1)});
      if (s > 0 && c.rankOfStage(s - 1) != c.rankOfStage(s))
        messages.push_back({startOf.at({false, s - 1, k}), 1, k, s, c.rankOfStage(s),
                            c.rankOfStage(s - 1), c.chunkOfStage(s), c.chunkOfStage(s - 1)});
    }
  std::sort(messages.begin(), messages.end(),
            [](const Message& a, const Message& b) { return a.key() < b.key(); });

  Schedule out;
  out.config = c;
  out.ranks.resize(p);
  for (int r = 0; r < p; ++r) {
    // Communication in global order, each before the first compute that ends after its key.
    std::vector<const Message*> mine;
    for (const Message& msg : messages)
      if (msg.fromRank == r || msg.toRank == r) mine.push_back(&msg);
    size_t mi = 0;
    auto emitUpTo = [&](double end) {
      for (; mi < mine.size() && mine[mi]->consumed < end; ++mi) {
        const Message& msg = *mine[mi];
        Action a;
        bool sending = msg.fromRank == r;
        if (msg.kind == 0) a.kind = sending ? ActionKind::SendActivation : ActionKind::RecvActivation;
        else a.kind = sending ? ActionKind::SendGradient : ActionKind::RecvGradient;
        a.microBatch = msg.microBatch;
        a.chunk = sending ? msg.fromChunk : msg.toChunk;
        a.peer = sending ? msg.toRank : msg.fromRank;
        out.ranks[r].push_back(a);
      }
    };
    for (const Timed& t : times[r]) {
      emitUpTo(t.end);
      out.ranks[r].push_back(Action{t.c.forward ? ActionKind::Forward : ActionKind::Backward,
                                    t.c.microBatch, t.c.chunk, -1});
    }
    emitUpTo(1e300);
  }
  return out;
}

std::string actionStr(const Action& a, int virtualStages) {
  std::string s;
  switch (a.kind) {
    case ActionKind::Forward: s = "F"; break;
    case ActionKind::Backward: s = "B"; break;
    case ActionKind::SendActivation: s = "Sa"; break;
    case ActionKind::RecvActivation: s = "Ra"; break;
    case ActionKind::SendGradient: s = "Sg"; break;
    case ActionKind::RecvGradient: s = "Rg"; break;
  }
  s += std::to_string(a.microBatch);
  if (virtualStages > 1) s += ":" + std::to_string(a.chunk);
  if (a.isSend()) s += ">" + std::to_string(a.peer);
  if (a.isRecv()) s += "<" + std::to_string(a.peer);
  return s;
}

std::string printSchedule(const Schedule& s) {
  const ScheduleConfig& c = s.config;
  std::string out = std::string("schedule ") + scheduleKindName(c.kind) + " p=" +
                    std::to_string(c.ranks) + " m=" + std::to_string(c.microBatches);
  if (c.kind == ScheduleKind::Interleaved) out += " v=" + std::to_string(c.virtualStages);
  out += "\n";
  for (size_t r = 0; r < s.ranks.size(); ++r) {
    out += "rank " + std::to_string(r) + ":";
    for (const Action& a : s.ranks[r]) out += " " + actionStr(a, c.virtualStages);
    out += "\n";
  }
  return out;
}

double theoreticalBubble(const ScheduleConfig& c) {
  return static_cast<double>(c.ranks - 1) / (static_cast<double>(c.virtualStages) * c.microBatches);
}

}  // namespace tessera::partition::pipeline
