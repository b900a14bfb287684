// Planning memory without compiling or running (lowerForPlanning, planMemoryTimeline in
// codegen/Engine.h): the same lowering and buffer plan the engine uses, exposed as a per-thunk
// curve so that a planner outside codegen (activation checkpointing) can see where the live
// bytes go, not only their peak.
#include <algorithm>
#include <set>

#include "codegen/Engine.h"
#include "codegen/fusion/Lowering.h"
#include "codegen/memory/BufferPlan.h"
#include "codegen/memory/GemmWorkspace.h"

namespace tessera::codegen {

StatusOr<Executable> lowerForPlanning(const ir::Module& m, const std::string& function,
                                      const EngineOptions& o) {
  const ir::Function* f = m.findFunction(function);
  if (!f) return Status::error("no function @" + function + " in module @" + m.name);
  LoweringOptions lo;
  lo.fuse = o.fuse;
  lo.parameters = o.parameters;
  lo.optimizerState = o.optimizerState;
  return lowerFunction(*f, lo);
}

StatusOr<MemoryTimeline> planMemoryTimeline(const Executable& exe,
                                            const std::map<std::string, int64_t>& symbols,
                                            const std::map<int, int>& resultAliases,
                                            int threads) {
  TRY_ASSIGN(BufferPlan p, planBuffers(exe, symbols, resultAliases));
  // The GEMM packing buffers are held all step long: a constant under every thunk.
  TRY_ASSIGN(int64_t gemmWorkspace, plannedGemmWorkspaceBytes(exe, symbols, threads));
  MemoryTimeline out;
  for (int64_t b : p.argumentBytesByCategory) out.argumentBytes += b;
  out.peakBytes = out.argumentBytes + p.arenaBytes + gemmWorkspace;
  out.bytesByCategory = p.peakByCategory;
  for (size_t c = 0; c < out.bytesByCategory.size(); ++c)
    out.bytesByCategory[c] += p.argumentBytesByCategory[c];
  out.bytesByCategory[static_cast<int>(MemCategory::Workspace)] += gemmWorkspace;
  // Live arena blocks per thunk, counted as the plan counts them: a buffer is live from its
  // first to its last use; an in-place output shares its input's block (same offset), which is
  // counted once. Sizes are aligned like the arena's blocks.
  const int nt = static_cast<int>(exe.thunks.size());
  std::vector<std::vector<int>> born(nt + 1), dies(nt + 1);
  for (size_t b = 0; b < exe.buffers.size(); ++b) {
    if (p.offset[b] < 0 || p.firstUse[b] < 0) continue;
    born[p.firstUse[b]].push_back(static_cast<int>(b));
    dies[std::min(p.lastUse[b], nt)].push_back(static_cast<int>(b));
  }
  std::map<int64_t, int> blockUsers;  // offset -> live buffers in that block
  int64_t live = 0;
  auto blockBytes = [&](int b) { return (std::max<int64_t>(p.bytes[b], 1) + 63) / 64 * 64; };
  out.liveBytes.assign(nt, 0);
  for (int t = 0; t < nt; ++t) {
    for (int b : born[t])
      if (blockUsers[p.offset[b]]++ == 0) live += blockBytes(b);
    out.liveBytes[t] = out.argumentBytes + gemmWorkspace + live;
    for (int b : dies[t])
      if (--blockUsers[p.offset[b]] == 0) live -= blockBytes(b);
  }
  return out;
}

}  // namespace tessera::codegen
