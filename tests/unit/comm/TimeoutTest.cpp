// Collective timeouts without MPI: defaults, the environment override, the message a timed-out rank
// prints, and the polling loop behind every wait.
#include <gtest/gtest.h>

#include "comm/Timeout.h"

using namespace tessera::comm;

TEST(CommTimeout, DefaultsAreThirtyMinutesCpuTenMinutesGpu) {
  EXPECT_EQ(defaultTimeoutSeconds(DeviceKind::Cpu), 1800.0);
  EXPECT_EQ(defaultTimeoutSeconds(DeviceKind::Gpu), 600.0);
  auto cpu = resolveTimeoutSeconds(DeviceKind::Cpu, nullptr);
  ASSERT_TRUE(cpu.isOk());
  EXPECT_EQ(*cpu, 1800.0);
}

TEST(CommTimeout, EnvironmentValueOverridesBothDefaults) {
  auto cpu = resolveTimeoutSeconds(DeviceKind::Cpu, "2");
  auto gpu = resolveTimeoutSeconds(DeviceKind::Gpu, "0.25");
  ASSERT_TRUE(cpu.isOk() && gpu.isOk());
  EXPECT_EQ(*cpu, 2.0);
  EXPECT_EQ(*gpu, 0.25);
}

TEST(CommTimeout, MalformedValuesAreErrorsNamingTheVariable) {
  for (const char* bad : {"", "abc", "0", "-1", "3s", " 5", "nan", "inf", "1e999"}) {
    auto r = resolveTimeoutSeconds(DeviceKind::Cpu, bad);
    ASSERT_FALSE(r.isOk()) << "accepted '" << bad << "'";
    EXPECT_NE(r.status().message().find("TESSERA_COLLECTIVE_TIMEOUT_S='" + std::string(bad) + "'"),
              std::string::npos)
        << r.status().message();
  }
}

TEST(CommTimeout, MessageNamesRankCommunicatorAndCollective) {
  std::string m = timeoutMessage(3, "tp", 1, 2, "all_reduce(sum, f32 x 8)", 2.5);
  EXPECT_NE(m.find("rank 3 "), std::string::npos) << m;
  EXPECT_NE(m.find("rank 1 of 2 in communicator 'tp'"), std::string::npos) << m;
  EXPECT_NE(m.find("all_reduce(sum, f32 x 8)"), std::string::npos) << m;
  EXPECT_NE(m.find("2.5 s"), std::string::npos) << m;
}

TEST(CommTimeout, PollStopsWhenDone) {
  int calls = 0;
  bool expired = true;
  Status s = pollUntilDone([&](bool* done) { *done = ++calls == 5; return Status::ok(); }, 60,
                           &expired);
  EXPECT_TRUE(s.isOk());
  EXPECT_FALSE(expired);
  EXPECT_EQ(calls, 5);
}

TEST(CommTimeout, PollReturnsTheFirstError) {
  int calls = 0;
  bool expired = true;
  Status s = pollUntilDone(
      [&](bool* done) {
        *done = false;
        return ++calls == 3 ? Status::error("link down") : Status::ok();
      },
      60, &expired);
  EXPECT_EQ(s.message(), "link down");
  EXPECT_FALSE(expired);
  EXPECT_EQ(calls, 3);
}

TEST(CommTimeout, PollExpiresWhenNeverDone) {
  int calls = 0;
  bool expired = false;
  Status s = pollUntilDone([&](bool* done) { *done = false; ++calls; return Status::ok(); }, 0.02,
                           &expired);
  EXPECT_TRUE(s.isOk());
  EXPECT_TRUE(expired);
  EXPECT_GT(calls, 0);
}
