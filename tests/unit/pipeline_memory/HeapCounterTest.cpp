// The counting operator new (codegen/memory/HeapCounter.h) and the per-step heap measure built on
// it (launcher/RankMemory.h StepHeap): a known allocation moves the live bytes and the high-water
// mark by at least its size (malloc_usable_size rounds up by less than 64 bytes here), freeing it
// returns the live bytes exactly, and resetPeak starts a new high-water mark.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "codegen/memory/HeapCounter.h"
#include "launcher/RankMemory.h"

namespace tessera {
namespace {

namespace heap = codegen::heap;

TEST(HeapCounter, CountsAllocationsAndTheirPeak) {
  if (!heap::available()) GTEST_SKIP() << "no counting allocator in this build";
  constexpr int64_t kBytes = 1 << 20;
  const int64_t before = heap::resetPeak();
  EXPECT_EQ(heap::peakBytes(), before);
  {
    auto block = std::make_unique<char[]>(kBytes);
    block[kBytes - 1] = 1;
    const int64_t live = heap::liveBytes() - before;
    EXPECT_GE(live, kBytes);
    EXPECT_LT(live, kBytes + 4096);  // the unique_ptr's block only, give or take other threads' noise
  }
  EXPECT_EQ(heap::liveBytes(), before);
  EXPECT_GE(heap::peakBytes() - before, kBytes);
  // A new mark starts at the current level; two blocks alive together peak at both.
  const int64_t start = heap::resetPeak();
  {
    std::vector<float> a(kBytes / 4), b(kBytes / 4);
    a[0] = b[0] = 1;
  }
  EXPECT_GE(heap::peakBytes() - start, 2 * kBytes);
  EXPECT_LT(heap::peakBytes() - start, 2 * kBytes + 4096);
}

TEST(HeapCounter, StepHeapMeasuresTheStepsPeakAboveItsStart) {
  if (!heap::available()) GTEST_SKIP() << "no counting allocator in this build";
  // Something already allocated before the step does not count; what the step frees does.
  std::vector<double> kept(1 << 16, 0.0);
  launcher::StepHeap h;
  h.begin();
  { std::vector<double> temp(3 << 16, 1.0); }
  const int64_t step = h.end();
  EXPECT_GE(step, (3 << 16) * 8);
  EXPECT_LT(step, (3 << 16) * 8 + 4096);
}

TEST(RankMemory, LineAndTable) {
  launcher::RankMemory m;
  m.plannedPeakBytes = 4000;
  m.plannedArgumentBytes = 1000;
  m.plannedArenaBytes = 3000;
  m.plannedLiveBytes = 3500;
  m.measuredPeakBytes = 3900;
  m.heapFirstStepBytes = 70;
  m.heapLaterStepBytes = 50;
  EXPECT_DOUBLE_EQ(m.ratio(), 0.975);
  EXPECT_EQ(launcher::rankMemoryLine(1, m),
            "memory (rank 1): planned peak 4000 bytes (arguments 1000 + arena 3000; live at the peak 3500), "
            "measured peak 3900 "
            "bytes (allocator; measured/planned 0.975); C++ heap during a step: first 70 bytes, later 50 "
            "bytes\n");
  launcher::RankMemory big;
  big.plannedPeakBytes = 3 << 20;
  big.measuredPeakBytes = 3 << 19;
  big.heapLaterStepBytes = 1 << 19;
  std::string t = launcher::rankMemoryTable({m, big});
  EXPECT_NE(t.find("  rank 1: planned 3.00 MiB, measured 1.50 MiB (0.500), heap 0.50 MiB\n"), std::string::npos) << t;
  EXPECT_EQ(launcher::RankMemory{}.ratio(), 0);
}

}  // namespace
}  // namespace tessera
