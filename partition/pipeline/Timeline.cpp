// Text and SVG drawings of a simulated schedule (Timeline.h).
#include "partition/pipeline/Timeline.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>

namespace tessera::partition::pipeline {

namespace {

std::string label(const Schedule& s, const Action& a) {
  std::string out = a.kind == ActionKind::Forward ? "F" : "B";
  out += std::to_string(a.microBatch);
  if (s.config.virtualStages > 1) out += static_cast<char>('a' + a.chunk % 26);
  return out;
}

std::string fixed3(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", x);
  return buf;
}

std::string theoryText(const ScheduleConfig& c) {
  return std::string(c.kind == ScheduleKind::Interleaved ? "(p-1)/(v*m)" : "(p-1)/m") + " = " +
         fixed3(theoreticalBubble(c));
}

std::string header(const Schedule& s) {
  const ScheduleConfig& c = s.config;
  std::string h = std::string("schedule ") + scheduleKindName(c.kind) + " p=" +
                  std::to_string(c.ranks) + " m=" + std::to_string(c.microBatches);
  if (c.kind == ScheduleKind::Interleaved) h += " v=" + std::to_string(c.virtualStages);
  return h;
}

}  // namespace

std::string drawTimeline(const Schedule& s, const ScheduleTimes& times) {
  const ScheduleConfig& c = s.config;
  size_t width = 2;
  for (const auto& rank : s.ranks)
    for (const Action& a : rank)
      if (a.isCompute()) width = std::max(width, label(s, a).size());
  ++width;  // one space between cells
  std::string out = header(s) + ": F = forward, B = backward";
  if (c.virtualStages > 1) out += " (letter = chunk)";
  out += ", . = idle\n";
  for (size_t r = 0; r < times.compute.size(); ++r) {
    std::string row = "rank " + std::to_string(r) + " |";
    double t = 0;
    for (const TimedAction& ta : times.compute[r]) {
      for (; t + 0.5 < ta.start; t += 1) row += "." + std::string(width - 1, ' ');
      long units = std::lround(ta.end - ta.start);
      std::string text = label(s, s.ranks[r][ta.index]);
      size_t span = width * static_cast<size_t>(std::max(units, 1L));
      text += std::string(span - 1 - text.size(), units > 1 ? '-' : ' ');
      row += text + " ";
      t = ta.end;
    }
    while (!row.empty() && row.back() == ' ') row.pop_back();
    out += row + "\n";
  }
  out += "bubble " + fixed3(times.bubbleFraction) + " (theory " + theoryText(c) + ")\n";
  return out;
}

std::string timelineSvg(const Schedule& s, const ScheduleTimes& times) {
  const double unit = 24, rowH = 28, left = 70, top = 30;
  const int ranks = static_cast<int>(times.compute.size());
  const double w = left + times.makespan * unit + 10, h = top + ranks * rowH + 30;
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fixed3(w) +
                    "\" height=\"" + fixed3(h) + "\" font-family=\"monospace\" font-size=\"11\">\n";
  out += "<text x=\"4\" y=\"16\">" + header(s) + ": bubble " + fixed3(times.bubbleFraction) +
         " (theory " + theoryText(s.config) + ")</text>\n";
  for (int r = 0; r < ranks; ++r) {
    double y = top + r * rowH;
    out += "<text x=\"4\" y=\"" + fixed3(y + 17) + "\">rank " + std::to_string(r) + "</text>\n";
    for (const TimedAction& ta : times.compute[r]) {
      const Action& a = s.ranks[r][ta.index];
      bool fwd = a.kind == ActionKind::Forward;
      // Later chunks darker: the eye follows one chunk's wave across the ranks.
      int shade = 220 - 50 * std::min(a.chunk, 3);
      std::string fill = fwd ? "rgb(" + std::to_string(shade - 100) + "," + std::to_string(shade - 40) +
                                   ",255)"
                             : "rgb(" + std::to_string(shade - 120) + ",200," + std::to_string(shade - 120) + ")";
      double x = left + ta.start * unit, bw = (ta.end - ta.start) * unit;
      out += "<rect x=\"" + fixed3(x) + "\" y=\"" + fixed3(y) + "\" width=\"" + fixed3(bw) +
             "\" height=\"" + fixed3(rowH - 4) + "\" fill=\"" + fill + "\" stroke=\"black\"/>\n";
      out += "<text x=\"" + fixed3(x + 3) + "\" y=\"" + fixed3(y + 16) + "\">" + label(s, a) +
             "</text>\n";
    }
  }
  out += "</svg>\n";
  return out;
}

StatusOr<std::string> drawSchedule(const Schedule& s) {
  TRY_ASSIGN(ScheduleTimes t, simulateSchedule(s));
  return drawTimeline(s, t);
}

}  // namespace tessera::partition::pipeline
