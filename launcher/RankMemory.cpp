// One rank's planned and measured memory (RankMemory.h).
#include "launcher/RankMemory.h"

#include <cstdio>

#include "codegen/memory/HeapCounter.h"
#include "comm/DataType.h"

namespace tessera::launcher {

StatusOr<RankMemory> planAndMeasure(codegen::Engine& engine, const std::map<std::string, int64_t>& symbols) {
  TRY_ASSIGN(codegen::MemoryReport rep, engine.memoryReport(symbols));
  RankMemory m;
  m.plannedPeakBytes = rep.peakBytes;
  m.plannedArgumentBytes = rep.argumentBytes;
  m.plannedArenaBytes = rep.arenaBytes;
  for (int64_t b : rep.bytesByCategory) m.plannedLiveBytes += b;
  m.report = rep.str();
  m.measuredPeakBytes = engine.measuredPeakBytes();
  m.plannedGemmBytes = rep.gemmWorkspaceBytes;
  m.measuredGemmBytes = engine.measuredGemmWorkspaceBytes();
  return m;
}

StatusOr<std::vector<RankMemory>> gatherRankMemory(comm::Communicator& world, const RankMemory& mine) {
  constexpr int kFields = 9;
  const int64_t send[kFields] = {mine.plannedPeakBytes,  mine.plannedArgumentBytes, mine.plannedArenaBytes,
                                 mine.plannedLiveBytes,  mine.measuredPeakBytes,    mine.heapFirstStepBytes,
                                 mine.heapLaterStepBytes, mine.plannedGemmBytes,    mine.measuredGemmBytes};
  std::vector<int64_t> all(static_cast<size_t>(kFields) * world.size());
  if (comm::Status st = world.allGather(send, all.data(), kFields, comm::DataType::I64); !st.isOk())
    return Status::error(st.message());
  std::vector<RankMemory> out(world.size());
  for (int r = 0; r < world.size(); ++r) {
    const int64_t* f = all.data() + static_cast<size_t>(r) * kFields;
    RankMemory& m = out[r];
    m.plannedPeakBytes = f[0];
    m.plannedArgumentBytes = f[1];
    m.plannedArenaBytes = f[2];
    m.plannedLiveBytes = f[3];
    m.measuredPeakBytes = f[4];
    m.heapFirstStepBytes = f[5];
    m.heapLaterStepBytes = f[6];
    m.plannedGemmBytes = f[7];
    m.measuredGemmBytes = f[8];
  }
  return out;
}

void StepHeap::begin() { start_ = codegen::heap::resetPeak(); }

int64_t StepHeap::end() const {
  return codegen::heap::available() ? codegen::heap::peakBytes() - start_ : -1;
}

std::string rankMemoryLine(int64_t rank, const RankMemory& m) {
  // The GEMM packing workspace is named only when there is one (the own sgemm), so that the
  // parts in the parentheses always add up to the planned peak.
  std::string gemm;
  if (m.plannedGemmBytes > 0)
    gemm = " + gemm packing " + std::to_string(m.plannedGemmBytes);
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "memory (rank %lld): planned peak %lld bytes (arguments %lld + arena %lld%s; live at the peak "
                "%lld), measured peak "
                "%lld bytes (allocator; measured/planned %.3f); C++ heap during a step: first %lld bytes, "
                "later %lld bytes\n",
                static_cast<long long>(rank), static_cast<long long>(m.plannedPeakBytes),
                static_cast<long long>(m.plannedArgumentBytes), static_cast<long long>(m.plannedArenaBytes),
                gemm.c_str(), static_cast<long long>(m.plannedLiveBytes),
                static_cast<long long>(m.measuredPeakBytes), m.ratio(),
                static_cast<long long>(m.heapFirstStepBytes), static_cast<long long>(m.heapLaterStepBytes));
  return buf;
}

std::string rankMemoryTable(const std::vector<RankMemory>& ranks) {
  std::string s = "memory per rank (the engine's plan vs its allocator's measured peak; C++ heap "
                  "outside it during a later step):\n";
  for (size_t r = 0; r < ranks.size(); ++r) {
    const RankMemory& m = ranks[r];
    char buf[256];
    std::snprintf(buf, sizeof buf, "  rank %zu: planned %.2f MiB, measured %.2f MiB (%.3f), heap %.2f MiB\n", r,
                  m.plannedPeakBytes / 1048576.0, m.measuredPeakBytes / 1048576.0, m.ratio(),
                  m.heapLaterStepBytes / 1048576.0);
    s += buf;
  }
  return s;
}

}  // namespace tessera::launcher
