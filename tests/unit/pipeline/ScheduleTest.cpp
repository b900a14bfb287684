// Pipeline schedules as data (partition/pipeline/Schedule.h, ScheduleCheck.h, Timeline.h): every
// built schedule passes the strict (rendezvous) check, its unit-time bubble equals the textbook
// formula, the compute orders are the ones the literature defines (written out by hand here), and
// broken lists are rejected with an error naming the rank and action.
#include <gtest/gtest.h>

#include <algorithm>

#include "partition/pipeline/Schedule.h"
#include "partition/pipeline/ScheduleCheck.h"
#include "partition/pipeline/Timeline.h"

namespace tessera::partition::pipeline {
namespace {

Schedule build(ScheduleKind k, int p, int m, int v = 1) {
  StatusOr<Schedule> s = buildSchedule({k, p, m, v});
  EXPECT_TRUE(s.isOk()) << s.status().message();
  return s.isOk() ? *s : Schedule{};
}

// The forward/backward actions of rank r as text, e.g. "F0 F1 B0 ...".
std::string computeOrder(const Schedule& s, int r) {
  std::string out;
  for (const Action& a : s.ranks[r])
    if (a.isCompute()) out += (out.empty() ? "" : " ") + actionStr(a, s.config.virtualStages);
  return out;
}

struct Grid {
  ScheduleKind kind;
  int p, m, v;
};

TEST(PipelineSchedule, EveryScheduleChecksAndHasTheTextbookBubble) {
  std::vector<Grid> grid;
  for (int p : {1, 2, 3, 4})
    for (int m : {1, 2, 4, 8}) {
      grid.push_back({ScheduleKind::GPipe, p, m, 1});
      grid.push_back({ScheduleKind::OneFOneB, p, m, 1});
      for (int v : {2, 3})
        if (m % p == 0) grid.push_back({ScheduleKind::Interleaved, p, m, v});
    }
  for (const Grid& g : grid) {
    SCOPED_TRACE(std::string(scheduleKindName(g.kind)) + " p=" + std::to_string(g.p) +
                 " m=" + std::to_string(g.m) + " v=" + std::to_string(g.v));
    Schedule s = build(g.kind, g.p, g.m, g.v);
    ASSERT_EQ(static_cast<int>(s.ranks.size()), g.p);
    Status rv = checkSchedule(s, SendSemantics::Rendezvous);
    EXPECT_TRUE(rv.isOk()) << rv.message() << "\n" << printSchedule(s);
    Status buf = checkSchedule(s, SendSemantics::Buffered);
    EXPECT_TRUE(buf.isOk()) << buf.message();
    // Each rank computes exactly m·v forwards and m·v backwards.
    for (int r = 0; r < g.p; ++r) {
      int f = 0, b = 0;
      for (const Action& a : s.ranks[r]) {
        f += a.kind == ActionKind::Forward;
        b += a.kind == ActionKind::Backward;
      }
      EXPECT_EQ(f, g.m * g.v);
      EXPECT_EQ(b, g.m * g.v);
    }
    // Bubble from the simulation vs the formula, computed here independently.
    StatusOr<ScheduleTimes> t = simulateSchedule(s);
    ASSERT_TRUE(t.isOk()) << t.status().message();
    double theory = static_cast<double>(g.p - 1) / (g.v * g.m);
    EXPECT_NEAR(t->bubbleFraction, theory, 1e-12);
    EXPECT_DOUBLE_EQ(t->ideal, 3.0 * g.m * g.v);  // forward 1 + backward 2 per chunk
  }
}

TEST(PipelineSchedule, ComputeOrdersAreTheDefinitions) {
  // GPipe: all forwards, then all backwards.
  Schedule g = build(ScheduleKind::GPipe, 2, 3);
  EXPECT_EQ(computeOrder(g, 0), "F0 F1 F2 B0 B1 B2");
  EXPECT_EQ(computeOrder(g, 1), "F0 F1 F2 B0 B1 B2");
  // 1F1B (PipeDream-flush), p=3 m=4: rank r warms up with p-1-r forwards.
  Schedule o = build(ScheduleKind::OneFOneB, 3, 4);
  EXPECT_EQ(computeOrder(o, 0), "F0 F1 F2 B0 F3 B1 B2 B3");
  EXPECT_EQ(computeOrder(o, 1), "F0 F1 B0 F2 B1 F3 B2 B3");
  EXPECT_EQ(computeOrder(o, 2), "F0 B0 F1 B1 F2 B2 F3 B3");
  // Interleaved, p=2 m=4 v=2 (Megatron): forward virtual order (mb:chunk) 0:0 1:0 0:1 1:1 2:0 3:0
  // 2:1 3:1; warm-up (p-r-1)*2 + (v-1)*p = 4 on rank 0, 2 on rank 1; backward order mirrors the
  // chunks: 0:1 1:1 0:0 1:0 2:1 3:1 2:0 3:0.
  Schedule i = build(ScheduleKind::Interleaved, 2, 4, 2);
  EXPECT_EQ(computeOrder(i, 0),
            "F0:0 F1:0 F0:1 F1:1 F2:0 B0:1 F3:0 B1:1 F2:1 B0:0 F3:1 B1:0 B2:1 B3:1 B2:0 B3:0");
  EXPECT_EQ(computeOrder(i, 1),
            "F0:0 F1:0 F0:1 B0:1 F1:1 B1:1 F2:0 B0:0 F3:0 B1:0 F2:1 B2:1 F3:1 B3:1 B2:0 B3:0");
}

TEST(PipelineSchedule, SendsAndReceivesPairUpWithTheNeighbours) {
  Schedule s = build(ScheduleKind::OneFOneB, 2, 2);
  // Rank 0 sends each activation to rank 1 and receives each gradient from it; rank 1 the reverse.
  EXPECT_EQ(printSchedule(s),
            "schedule 1f1b p=2 m=2\n"
            "rank 0: F0 Sa0>1 F1 Sa1>1 Rg0<1 B0 Rg1<1 B1\n"
            "rank 1: Ra0<0 F0 B0 Ra1<0 Sg0>0 F1 B1 Sg1>0\n");
}

TEST(PipelineSchedule, MicroBatchesInFlight) {
  // 1F1B holds at most p - r micro-batches' inputs on rank r; GPipe holds all m everywhere.
  auto peaks = [](const Schedule& s) {
    StatusOr<ScheduleTimes> t = simulateSchedule(s);
    EXPECT_TRUE(t.isOk());
    return t.isOk() ? t->peakInFlight : std::vector<int>{};
  };
  EXPECT_EQ(peaks(build(ScheduleKind::OneFOneB, 4, 8)), (std::vector<int>{4, 3, 2, 1}));
  EXPECT_EQ(peaks(build(ScheduleKind::OneFOneB, 4, 2)), (std::vector<int>{2, 2, 2, 1}));
  EXPECT_EQ(peaks(build(ScheduleKind::GPipe, 3, 5)), (std::vector<int>{5, 5, 5}));
}

TEST(PipelineSchedule, DrawsTheTimeline) {
  Schedule s = build(ScheduleKind::OneFOneB, 2, 4);
  StatusOr<std::string> text = drawSchedule(s);
  ASSERT_TRUE(text.isOk()) << text.status().message();
  // Drawn by hand: forward 1 unit, backward 2; rank 1 starts one unit late, rank 0 waits for B0's
  // gradient (2 units) and idles once more before its last backward.
  EXPECT_EQ(*text,
            "schedule 1f1b p=2 m=4: F = forward, B = backward, . = idle\n"
            "rank 0 |F0 F1 .  .  B0--- F2 B1--- F3 B2--- .  B3---\n"
            "rank 1 |.  F0 B0--- F1 B1--- F2 B2--- F3 B3---\n"
            "bubble 0.250 (theory (p-1)/m = 0.250)\n");
  StatusOr<ScheduleTimes> t = simulateSchedule(s);
  ASSERT_TRUE(t.isOk());
  std::string svg = timelineSvg(s, *t);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  size_t rects = 0;
  for (size_t at = svg.find("<rect"); at != std::string::npos; at = svg.find("<rect", at + 1)) ++rects;
  EXPECT_EQ(rects, 2u * 2 * 4);  // p ranks x m micro-batches x (forward + backward)
}

TEST(PipelineSchedule, BadConfigurationsAreErrors) {
  auto err = [](ScheduleConfig c) {
    StatusOr<Schedule> s = buildSchedule(c);
    return s.isOk() ? std::string("ok") : s.status().message();
  };
  EXPECT_NE(err({ScheduleKind::Interleaved, 4, 6, 2}).find("multiple of the pipeline ranks (4)"),
            std::string::npos);
  EXPECT_NE(err({ScheduleKind::OneFOneB, 2, 4, 2}).find("no virtual stages"), std::string::npos);
  EXPECT_NE(err({ScheduleKind::Interleaved, 2, 4, 1}).find("at least 2 virtual stages"), std::string::npos);
  EXPECT_NE(err({ScheduleKind::GPipe, 0, 4, 1}).find("at least 1 pipeline rank"), std::string::npos);
  EXPECT_NE(err({ScheduleKind::GPipe, 2, 0, 1}).find("at least 1 micro-batch"), std::string::npos);
  EXPECT_TRUE(parseScheduleKind("1F1B").isOk());
  EXPECT_EQ(*parseScheduleKind("GPipe"), ScheduleKind::GPipe);
  StatusOr<ScheduleKind> bad = parseScheduleKind("zigzag");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("'zigzag'"), std::string::npos);
}

// Finds the first action of rank r printing as `text`.
size_t find(const Schedule& s, int r, const std::string& text) {
  for (size_t i = 0; i < s.ranks[r].size(); ++i)
    if (actionStr(s.ranks[r][i], s.config.virtualStages) == text) return i;
  ADD_FAILURE() << "no " << text << " on rank " << r;
  return 0;
}

TEST(PipelineSchedule, BrokenListsAreRejected) {
  const Schedule good = build(ScheduleKind::OneFOneB, 2, 4);
  ASSERT_TRUE(checkSchedule(good).isOk());
  {  // Rank 1 keeps its first gradient until the end: rank 0 waits for it, rank 1 for Ra2.
    Schedule s = good;
    auto& r1 = s.ranks[1];
    size_t at = find(s, 1, "Sg0>0");
    Action sg = r1[at];
    r1.erase(r1.begin() + static_cast<long>(at));
    r1.push_back(sg);
    for (SendSemantics sem : {SendSemantics::Rendezvous, SendSemantics::Buffered}) {
      Status st = checkSchedule(s, sem);
      ASSERT_FALSE(st.isOk());
      EXPECT_NE(st.message().find("deadlocks"), std::string::npos) << st.message();
      EXPECT_NE(st.message().find("rank 0 waits at action"), std::string::npos) << st.message();
      EXPECT_NE(st.message().find("(Rg0<1)"), std::string::npos) << st.message();
    }
  }
  {  // A backward before its forward.
    Schedule s = good;
    auto& r1 = s.ranks[1];
    std::swap(r1[find(s, 1, "F0")], r1[find(s, 1, "B0")]);
    Status st = checkSchedule(s);
    ASSERT_FALSE(st.isOk());
    EXPECT_NE(st.message().find("rank 1 action 1 (B0): runs before its forward"), std::string::npos)
        << st.message();
  }
  {  // A send before the forward that computes it.
    Schedule s = good;
    auto& r0 = s.ranks[0];
    std::swap(r0[find(s, 0, "F0")], r0[find(s, 0, "Sa0>1")]);
    Status st = checkSchedule(s);
    ASSERT_FALSE(st.isOk());
    EXPECT_NE(st.message().find("rank 0 action 0 (Sa0>1): sends what its forward has not computed"),
              std::string::npos)
        << st.message();
  }
  {  // A forward listed twice, and one missing backward.
    Schedule s = good;
    s.ranks[0].push_back(Action{ActionKind::Forward, 3, 0, -1});
    EXPECT_NE(checkSchedule(s).message().find("(F3): runs twice"), std::string::npos);
    Schedule t = good;
    t.ranks[0].erase(t.ranks[0].begin() + static_cast<long>(find(t, 0, "B3")));
    EXPECT_NE(checkSchedule(t).message().find("backward of micro-batch 3 on stage 0 (rank 0) never runs"),
              std::string::npos)
        << checkSchedule(t).message();
  }
  {  // Messages out of order on a link: rank 1 receives micro-batch 1 before micro-batch 0.
    Schedule s = build(ScheduleKind::GPipe, 2, 2);
    auto& r1 = s.ranks[1];
    // rank 1: Ra0<0 F0 Ra1<0 F1 ... -> Ra1<0 Ra0<0 F0 F1 ...
    size_t ra0 = find(s, 1, "Ra0<0"), ra1 = find(s, 1, "Ra1<0"), f0 = find(s, 1, "F0");
    ASSERT_LT(ra0, f0);
    ASSERT_LT(f0, ra1);
    Action a1 = r1[ra1];
    r1.erase(r1.begin() + static_cast<long>(ra1));
    r1.insert(r1.begin(), a1);
    Status st = checkSchedule(s, SendSemantics::Buffered);
    ASSERT_FALSE(st.isOk());
    EXPECT_NE(st.message().find("the next message from rank 0 is the activation of micro-batch 0"),
              std::string::npos)
        << st.message();
    Status rv = checkSchedule(s, SendSemantics::Rendezvous);
    ASSERT_FALSE(rv.isOk());
    EXPECT_NE(rv.message().find("rank 0 sends the activation of micro-batch 0 from stage 0 instead"),
              std::string::npos)
        << rv.message();
  }
  {  // A send to the wrong neighbour.
    Schedule s = build(ScheduleKind::GPipe, 3, 1);
    s.ranks[0][find(s, 0, "Sa0>1")].peer = 2;
    EXPECT_NE(checkSchedule(s).message().find("the peer must be rank 1 (stage 1)"), std::string::npos)
        << checkSchedule(s).message();
  }
}

}  // namespace
}  // namespace tessera::partition::pipeline
