// What a rank does with its collectives by default and how the environment overrides it
// (codegen/dist/DistDefaults.h), the two-addend reduction's bits (reduceBlocks at n = 2, the dp=2
// gradient path, must equal the double accumulation rounded once that every other group size
// uses), and the honest-overlap bookkeeping of CallTimer.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

#include "codegen/dist/CollectiveCall.h"
#include "codegen/dist/DistDefaults.h"
#include "tests/support/SplitMix64.h"

namespace tessera::codegen {
namespace {

TEST(DistDefaults, CpuRanksBlockAndGpuRanksOverlap) {
  DistOptions cpu = defaultDistOptions(comm::DeviceKind::Cpu);
  EXPECT_FALSE(cpu.async);
  EXPECT_EQ(cpu.bucketBytes, 0);
  DistOptions gpu = defaultDistOptions(comm::DeviceKind::Gpu);
  EXPECT_TRUE(gpu.async);
  EXPECT_EQ(gpu.bucketBytes, 4 << 20);
}

TEST(DistDefaults, EnvironmentChoosesTheOtherSchedule) {
  auto on = resolveDistOptions(comm::DeviceKind::Cpu, "1", nullptr);
  ASSERT_TRUE(on.isOk()) << on.status().message();
  EXPECT_TRUE(on->async);
  EXPECT_EQ(on->bucketBytes, 4 << 20);
  auto sized = resolveDistOptions(comm::DeviceKind::Cpu, "1", "65536");
  ASSERT_TRUE(sized.isOk());
  EXPECT_EQ(sized->bucketBytes, 65536);
  auto off = resolveDistOptions(comm::DeviceKind::Gpu, "0", nullptr);
  ASSERT_TRUE(off.isOk());
  EXPECT_FALSE(off->async);
  EXPECT_EQ(off->bucketBytes, 0);
  auto unset = resolveDistOptions(comm::DeviceKind::Cpu, nullptr, nullptr);
  ASSERT_TRUE(unset.isOk());
  EXPECT_FALSE(unset->async);
}

TEST(DistDefaults, BadValuesNameTheVariable) {
  auto a = resolveDistOptions(comm::DeviceKind::Cpu, "yes", nullptr);
  ASSERT_FALSE(a.isOk());
  EXPECT_NE(a.status().message().find("TESSERA_DIST_ASYNC='yes'"), std::string::npos);
  for (const char* bad : {"-1", "4M", ""}) {
    auto b = resolveDistOptions(comm::DeviceKind::Cpu, nullptr, bad);
    ASSERT_FALSE(b.isOk()) << bad;
    EXPECT_NE(b.status().message().find("TESSERA_DIST_BUCKET_BYTES"), std::string::npos);
  }
}

// f32 values with exponents spread over the whole range (incl. subnormals, huge, negative zero),
// so that pairs include large exponent gaps, cancellations and overflows.
std::vector<float> adversarialFloats(uint64_t seed, size_t n) {
  testing_support::SplitMix64 rng{seed};
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t r = rng.next();
    switch (r % 8) {
      case 0: v[i] = std::bit_cast<float>(static_cast<uint32_t>(r >> 32) & 0x7f7fffffu); break;
      case 1: v[i] = -std::bit_cast<float>(static_cast<uint32_t>(r >> 32) & 0x007fffffu); break;
      case 2: v[i] = (r & 16) ? -0.0f : 0.0f; break;
      case 3: v[i] = std::numeric_limits<float>::max() * ((r & 16) ? -1.0f : 1.0f); break;
      default:
        v[i] = static_cast<float>(rng.uniform(-1, 1) * std::ldexp(1.0, static_cast<int>(r % 61) - 30));
    }
  }
  return v;
}

TEST(ReduceBlocks, TwoAddendSumEqualsTheDoubleSumRoundedOnce) {
  const size_t n = 20011;
  std::vector<float> a = adversarialFloats(1, n), b = adversarialFloats(2, n);
  // Pairs whose exponents differ by exactly 24..31 (the double-rounding boundary region).
  for (size_t i = 0; i < 2000; ++i) b[i] = std::ldexp(a[i], -(24 + static_cast<int>(i % 8))) * 1.37f;
  std::vector<float> blocks(2 * n);
  std::copy(a.begin(), a.end(), blocks.begin());
  std::copy(b.begin(), b.end(), blocks.begin() + n);
  std::vector<float> got(n);
  reduceBlocks(blocks.data(), n * 4, 2, n, ir::DType::F32, ir::ReduceOp::Sum, got.data());
  for (size_t i = 0; i < n; ++i) {
    const float want = static_cast<float>(static_cast<double>(a[i]) + static_cast<double>(b[i]));
    ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want))
        << i << ": " << a[i] << " + " << b[i];
  }
}

TEST(ReduceBlocks, TwoAddendF64SumIsTheDoubleSum) {
  std::vector<double> blocks = {1.0, 1e308, -0.0, 3.0, 0x1p-60, 1e308, -0.0, -3.0};
  std::vector<double> got(4);
  reduceBlocks(blocks.data(), 4 * 8, 2, 4, ir::DType::F64, ir::ReduceOp::Sum, got.data());
  EXPECT_EQ(got[0], 1.0);  // 1 + 2^-60 rounds to 1
  EXPECT_TRUE(std::isinf(got[1]));
  EXPECT_TRUE(got[2] == 0.0 && std::signbit(got[2]));
  EXPECT_EQ(got[3], 0.0);
}

TEST(CallTimer, ACompletionSeenBeforeTheWaitCountsAsOverlapped) {
  DistStats st;
  CallTimer t;
  t.issued();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  t.sawComplete();
  t.beginWait();
  t.endWait(st);
  EXPECT_GT(st.inflightSeconds, 0);
  EXPECT_EQ(st.overlappedSeconds, st.inflightSeconds);  // the same two time points
}

TEST(CallTimer, TheWaitIsNotOverlapAndABlockingCallHasNone) {
  DistStats st;
  CallTimer t;
  t.issued();
  t.beginWait();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  t.sawComplete();  // a completion seen while waiting does not move the overlap
  t.endWait(st);
  EXPECT_GT(st.inflightSeconds, st.overlappedSeconds);
  EXPECT_GE(st.inflightSeconds, 0.002);
  // An idle timer (never issued) adds nothing.
  DistStats idle;
  CallTimer u;
  u.beginWait();
  u.endWait(idle);
  EXPECT_EQ(idle.inflightSeconds, 0);
  EXPECT_EQ(idle.overlappedSeconds, 0);
}

}  // namespace
}  // namespace tessera::codegen
