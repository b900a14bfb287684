// Start/done placement for collectives (see AsyncSchedule.h).
#include "codegen/dist/AsyncSchedule.h"

#include <algorithm>
#include <cassert>
#include <set>

#include "ir/Op.h"

namespace tessera::codegen {

namespace {

bool isCollective(const Thunk& t) { return t.kind == ThunkKind::Collective; }

// A fixed point of the schedule: nothing moves across it.
bool isBarrier(const Executable& exe, const Thunk& t) {
  if (!isCollective(t)) return false;
  ir::OpKind k = exe.function->ops()[t.op]->kind();
  return k == ir::OpKind::Send || k == ir::OpKind::Recv;
}

bool splittable(const Executable& exe, const Thunk& t, const std::set<int>& resultBuffers) {
  if (!isCollective(t) || isBarrier(exe, t)) return false;
  if (exe.function->ops()[t.op]->kind() == ir::OpKind::AxisIndex) return false;
  for (const BufferView& v : t.views)
    if (v.write && resultBuffers.count(v.buffer)) return false;
  return true;
}

bool touches(const Thunk& t, const std::set<int>& buffers, bool writesOnly) {
  for (const BufferView& v : t.views)
    if ((v.write || !writesOnly) && buffers.count(v.buffer)) return true;
  return false;
}

}  // namespace

int scheduleAsyncCollectives(Executable& exe) {
  const std::vector<Thunk>& in = exe.thunks;
  const int n = static_cast<int>(in.size());
  std::set<int> resultBuffers(exe.resultBuffers.begin(), exe.resultBuffers.end());
  // For each split collective c: start goes right after startAfter[c] (-1: at the top), done
  // right before doneBefore[c] (n: at the end), both relative to the original order.
  std::vector<int> startAfter(n, -2), doneBefore(n, -2);
  int split = 0, lastBarrier = -1;
  for (int c = 0; c < n; ++c) {
    const Thunk& t = in[c];
    if (isBarrier(exe, t)) lastBarrier = c;
    if (!splittable(exe, t, resultBuffers)) continue;
    std::set<int> reads, writes;
    for (const BufferView& v : t.views) (v.write ? writes : reads).insert(v.buffer);
    // Start: after the last earlier thunk writing an operand or touching the result buffer (and
    // after the last send/recv). When that thunk is itself a split collective, what counts is
    // its done, not its original slot: it writes its result (and stops reading its operand) only
    // there, and the done has moved down towards its first consumer — which may be c itself, so
    // c's start would otherwise run before its operand exists (a reduce_scatter over tp whose
    // result an all_reduce over dp reads: sequence parallelism's gradient path). Every earlier
    // split collective is checked, not only the latest touching thunk: an older one's done can
    // lie further down than a newer kernel.
    int s = lastBarrier;
    for (int j = c - 1; j > lastBarrier; --j) {
      const bool splitJ = startAfter[j] != -2;
      if (j <= s && !splitJ) continue;
      if (!touches(in[j], reads, true) && !touches(in[j], writes, false)) continue;
      // A split collective's done is emitted just before original thunk doneBefore[j]: c's start
      // must come after that thunk's slot (c's own slot, if j's done waits for c).
      s = std::max(s, splitJ ? doneBefore[j] : j);
    }
    assert(s <= c && "a producer's done lies past its consumer");
    // Done: before the first later thunk touching the result, overwriting an operand, or a
    // point-to-point barrier.
    int d = n;
    for (int j = c + 1; j < n; ++j)
      if (isBarrier(exe, in[j]) || touches(in[j], writes, false) || touches(in[j], reads, true)) {
        d = j;
        break;
      }
    startAfter[c] = s;
    doneBefore[c] = d;
    ++split;
  }
  if (split == 0) return 0;
  // Rebuild: walking the original order, emit the dones due before j, the thunk itself (a split
  // collective's original slot is dropped), then the starts due after j. Ties keep original order.
  std::vector<std::vector<int>> startsAfter(n + 1), donesBefore(n + 1);
  for (int c = 0; c < n; ++c) {
    if (startAfter[c] == -2) continue;
    startsAfter[startAfter[c] + 1].push_back(c);  // +1: slot 0 = before everything
    donesBefore[doneBefore[c]].push_back(c);
  }
  std::vector<Thunk> out;
  out.reserve(n + split);
  auto emitStarts = [&](int slot) {
    for (int c : startsAfter[slot]) out.push_back(in[c]);
  };
  emitStarts(0);
  for (int j = 0; j < n; ++j) {
    for (int c : donesBefore[j]) {
      out.push_back(in[c]);
      out.back().label = "done " + in[c].label;
    }
    if (startAfter[j] == -2) out.push_back(in[j]);
    emitStarts(j + 1);
  }
  for (int c : donesBefore[n]) {
    out.push_back(in[c]);
    out.back().label = "done " + in[c].label;
  }
  // Label the starts (the first thunk of each split op).
  std::set<int> splitOps, labeled;
  for (int c = 0; c < n; ++c)
    if (startAfter[c] != -2) splitOps.insert(in[c].op);
  for (Thunk& t : out)
    if (isCollective(t) && splitOps.count(t.op) && labeled.insert(t.op).second)
      t.label = "start " + t.label;
  exe.thunks = std::move(out);
  return split;
}

}  // namespace tessera::codegen
