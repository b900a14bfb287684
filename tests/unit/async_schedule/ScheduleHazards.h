// A static checker for the async collective schedule (codegen/dist/AsyncSchedule.h) together with
// the buffer plan (codegen/memory/BufferPlan.h), for tests: between a collective's start thunk and
// its done thunk the communication owns the operand's and the result's storage (MPI may read the
// operand and write the result at any time in between), so no thunk in between may
//  - touch storage that overlaps the result (it would read the result before it exists, or have
//    its own data overwritten when the result lands), nor
//  - write storage that overlaps an operand (the ranks would exchange the new bytes).
// Storage is compared by address, not by buffer id: the arena ranges the plan gave each buffer
// and the argument storage buffers live in, so a plan that reuses a block too early is caught
// too. Independent of AsyncSchedule's own reasoning: it only reads the final thunk list and plan.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "codegen/exec/Executable.h"
#include "codegen/memory/BufferPlan.h"

namespace tessera::async_schedule_test {

// Where a buffer's bytes are: in the arena at [begin, end), or in argument `argument`'s storage.
struct Storage {
  int argument = -1;
  int64_t begin = 0, end = 0;
};

inline Storage storageOf(const codegen::BufferPlan& p, int b) {
  Storage s;
  if (p.storageArgument[b] >= 0) {
    s.argument = p.storageArgument[b];
    s.end = p.bytes[b];
  } else {
    s.begin = p.offset[b];
    s.end = p.offset[b] + std::max<int64_t>(p.bytes[b], 1);
  }
  return s;
}

inline bool overlaps(const Storage& a, const Storage& b) {
  if (a.argument != b.argument) return false;
  return a.begin < b.end && b.begin < a.end;
}

// One line per hazard (empty: none). Also returns, through *splitOps, how many collectives have a
// start and a done (so a test can assert that the schedule did split something).
inline std::vector<std::string> scheduleHazards(const codegen::Executable& exe,
                                                const codegen::BufferPlan& p,
                                                int* splitOps = nullptr) {
  std::vector<std::string> out;
  std::map<int, std::vector<int>> thunksOfOp;  // collective op -> its thunk indices
  for (size_t i = 0; i < exe.thunks.size(); ++i)
    if (exe.thunks[i].kind == codegen::ThunkKind::Collective)
      thunksOfOp[exe.thunks[i].op].push_back(static_cast<int>(i));
  int split = 0;
  for (const auto& [op, idx] : thunksOfOp) {
    if (idx.size() != 2) continue;
    ++split;
    const int s = idx[0], d = idx[1];
    const codegen::Thunk& start = exe.thunks[s];
    std::vector<std::pair<int, bool>> owned;  // buffer, is a result
    for (const codegen::BufferView& v : start.views) owned.emplace_back(v.buffer, v.write);
    for (int j = s + 1; j < d; ++j) {
      const codegen::Thunk& t = exe.thunks[j];
      for (const codegen::BufferView& v : t.views) {
        Storage mine = storageOf(p, v.buffer);
        for (auto [b, isResult] : owned) {
          if (!overlaps(mine, storageOf(p, b))) continue;
          if (!isResult && !v.write) continue;  // reading beside an operand is fine
          out.push_back("thunk " + std::to_string(j) + " '" + t.label + "' " +
                        (v.write ? "writes" : "reads") + " buffer '" + exe.buffers[v.buffer].name +
                        "', which overlaps the " + (isResult ? "result" : "operand") + " '" +
                        exe.buffers[b].name + "' of '" + start.label + "' (thunks " +
                        std::to_string(s) + ".." + std::to_string(d) + ")");
        }
      }
    }
  }
  if (splitOps) *splitOps = split;
  return out;
}

}  // namespace tessera::async_schedule_test
