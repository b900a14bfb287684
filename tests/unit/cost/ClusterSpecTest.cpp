// Device specs, the cluster shorthand and the cluster file parser: values, errors with line:col,
// and a fuzz-style test (random bytes and mutations of a valid file never crash the parser).
#include <gtest/gtest.h>

#include <string>

#include "partition/cost/ClusterSpec.h"
#include "partition/cost/CollectiveCost.h"
#include "tests/support/SplitMix64.h"

namespace tessera::partition::cost {
namespace {

TEST(DeviceSpec, BuiltinsHaveDataSheetFigures) {
  const DeviceSpec* a = findDevice("a100-80g");
  ASSERT_NE(a, nullptr);
  EXPECT_DOUBLE_EQ(a->peak(ir::DType::BF16), 312e12);
  EXPECT_DOUBLE_EQ(a->peak(ir::DType::F32), 19.5e12);
  EXPECT_DOUBLE_EQ(a->memoryBytes, 80e9);
  const DeviceSpec* h = findDevice("h100-sxm");
  ASSERT_NE(h, nullptr);
  EXPECT_DOUBLE_EQ(h->peak(ir::DType::BF16), 989e12);
  EXPECT_DOUBLE_EQ(h->memoryBandwidth, 3.35e12);
  EXPECT_NE(findDevice("h200"), nullptr);
  EXPECT_NE(findDevice("a100-40g"), nullptr);
  const DeviceSpec* cpu = findDevice("cpu");
  ASSERT_NE(cpu, nullptr);
  // One core of this machine: 96 GFLOP/s f32 FMA peak (bench/fma_peak).
  EXPECT_DOUBLE_EQ(cpu->peak(ir::DType::F32), 96e9);
  EXPECT_EQ(findDevice("v100"), nullptr);
}

TEST(DeviceSpec, GemmEfficiencyIsAProductOfSaturatingFactors) {
  GemmEfficiency e{0.9, 64};
  // 64 in every dim: each factor is 1/2.
  EXPECT_DOUBLE_EQ(e.at(64, 64, 64), 0.9 / 8);
  EXPECT_NEAR(e.at(1e9, 1e9, 1e9), 0.9, 1e-6);
  EXPECT_LT(e.at(2048, 2048, 128), e.at(2048, 2048, 2048));
}

TEST(ClusterShorthand, NodesTimesDevices) {
  auto c = parseClusterShorthand("128x8:a100-80g");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->numDevices(), 1024);
  EXPECT_EQ(c->device.name, "a100-80g");
  ASSERT_EQ(c->levels.size(), 2u);
  EXPECT_EQ(c->levels[0].span, 8);
  EXPECT_EQ(c->levels[1].span, 1024);
  EXPECT_DOUBLE_EQ(c->levels[0].bandwidth, 300e9);
  EXPECT_DOUBLE_EQ(c->levels[1].bandwidth, 25e9);
  auto one = parseClusterShorthand("8:h100-sxm");
  ASSERT_TRUE(one.isOk()) << one.status().message();
  EXPECT_EQ(one->numDevices(), 8);
  EXPECT_EQ(one->levels.size(), 1u);
}

TEST(ClusterShorthand, Errors) {
  for (const char* bad : {"128x8", "128x8:b200", "0x8:a100-80g", "x8:a100-80g", "12ax8:cpu", ":cpu",
                          "2x:cpu", "99999999x8:cpu"}) {
    auto c = parseClusterShorthand(bad);
    ASSERT_FALSE(c.isOk()) << bad;
    EXPECT_NE(c.status().message().find("--cluster"), std::string::npos) << c.status().message();
  }
  EXPECT_NE(parseClusterShorthand("2x8:b200").status().message().find("unknown device 'b200'"),
            std::string::npos);
}

TEST(ClusterShorthand, LevelOfDeviceSets) {
  auto c = parseClusterShorthand("2x8:a100-80g");
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(c->levelOf({0, 7}), 0);
  EXPECT_EQ(c->levelOf({7, 8}), 1);
  EXPECT_EQ(c->levelOf({3}), 0);
}

const char* kFile = R"(# Megatron's Selene-like cluster
name selene
device a100-80g memory=80GB bandwidth=2.039TB/s launch=3us
nodes 4
devices_per_node 8
level nvlink bandwidth=300GB/s latency=3us
level ib bandwidth=200Gb/s latency=6us   # one HDR NIC per GPU
)";

TEST(ClusterFile, ParsesEveryStatement) {
  auto c = parseClusterFile(kFile, "selene.cluster");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->name, "selene");
  EXPECT_EQ(c->numDevices(), 32);
  EXPECT_DOUBLE_EQ(c->device.memoryBandwidth, 2.039e12);
  EXPECT_DOUBLE_EQ(c->device.launchOverhead, 3e-6);
  ASSERT_EQ(c->levels.size(), 2u);
  EXPECT_EQ(c->levels[0].span, 8);
  EXPECT_EQ(c->levels[1].span, 32);
  EXPECT_DOUBLE_EQ(c->levels[1].bandwidth, 25e9);  // 200 Gb/s
  EXPECT_DOUBLE_EQ(c->levels[1].latency, 6e-6);
}

TEST(ClusterFile, DeviceOverridesAndThreeLevels) {
  auto c = parseClusterFile(
      "device h100-sxm name=h100-slow peak.bf16=500T memory=64GiB\n"
      "nodes 8\ndevices_per_node 4\n"
      "level nvlink bandwidth=450GB/s latency=2us\n"
      "level rail bandwidth=50GB/s latency=5us span=16\n"
      "level spine bandwidth=10GB/s latency=10us\n",
      "f");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->device.name, "h100-slow");
  EXPECT_DOUBLE_EQ(c->device.peak(ir::DType::BF16), 500e12);
  EXPECT_DOUBLE_EQ(c->device.memoryBytes, 64.0 * 1073741824.0);
  ASSERT_EQ(c->levels.size(), 3u);
  EXPECT_EQ(c->levels[0].span, 4);
  EXPECT_EQ(c->levels[1].span, 16);
  EXPECT_EQ(c->levels[2].span, 32);
  EXPECT_EQ(c->levelOf({0, 15}), 1);
  EXPECT_EQ(c->levelOf({0, 16}), 2);
}

TEST(ClusterFile, DefaultNetworkWithoutLevels) {
  auto c = parseClusterFile("device cpu\nnodes 2\ndevices_per_node 2\n", "f");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  ASSERT_EQ(c->levels.size(), 2u);
  EXPECT_EQ(c->levels[1].name, "ethernet");
}

void expectError(const std::string& text, const std::string& where, const std::string& what) {
  auto c = parseClusterFile(text, "c.txt");
  ASSERT_FALSE(c.isOk()) << text;
  const std::string& m = c.status().message();
  EXPECT_EQ(m.rfind("c.txt:" + where + ": error: ", 0), 0u) << m;
  EXPECT_NE(m.find(what), std::string::npos) << m;
}

TEST(ClusterFile, ErrorsNameLineAndColumn) {
  expectError("nodes 2\n", "1:1", "no 'device'");
  expectError("device a100\n", "1:8", "unknown device 'a100'");
  expectError("device cpu\nnodes two\n", "2:7", "whole number");
  expectError("device cpu\nnodes 2\nnodes 3\n", "3:1", "given twice");
  expectError("device cpu\n  gpus 4\n", "2:3", "unknown statement 'gpus'");
  expectError("device cpu\nlevel shm bandwidth=10GB latency=1us\n", "2:21", "unknown unit 'GB'");
  expectError("device cpu\nlevel shm bandwidth=10GB/s\n", "2:1", "needs latency");
  expectError("device cpu\nlevel shm bandwidth=10GB/s latency=1us speed=3\n", "2:40",
              "unknown level property 'speed'");
  expectError("device cpu memory=-3GB\n", "1:19", "non-negative number");
  expectError("device cpu gemm_max=1.5\n", "1:21", "(0, 1]");
  expectError("device cpu\nnodes 2\ndevices_per_node 2\nlevel a bandwidth=1GB/s latency=1us span=3\n"
              "level b bandwidth=1GB/s latency=1us\n",
              "5:1", "does not divide");
  expectError("device cpu\nnodes 1\x01\n", "2:8", "unexpected character");
  expectError("device cpu\nlevel bandwidth=1GB/s latency=1us\n", "2:7", "needs a name");
}

// Random bytes and random mutations of a valid file: the parser either accepts or returns an
// error with a location — never crashes, hangs, or produces an inconsistent cluster.
TEST(ClusterFile, FuzzNeverCrashes) {
  tessera::testing_support::SplitMix64 rng{7};
  const std::string base = kFile;
  const std::string alphabet = "0123456789 =.x:#\nabcdefgikmnlprstuvwyGBTs/-+e";
  int accepted = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string t;
    if (iter % 3 == 0) {
      size_t n = rng.next() % 200;
      for (size_t i = 0; i < n; ++i) t.push_back(static_cast<char>(rng.next() & 0xff));
    } else {
      t = base;
      int edits = 1 + static_cast<int>(rng.next() % 4);
      for (int k = 0; k < edits && !t.empty(); ++k) {
        size_t pos = rng.next() % t.size();
        switch (rng.next() % 3) {
          case 0: t[pos] = alphabet[rng.next() % alphabet.size()]; break;
          case 1: t.erase(pos, 1 + rng.next() % 8); break;
          case 2: t.insert(pos, 1, alphabet[rng.next() % alphabet.size()]); break;
        }
      }
    }
    auto c = parseClusterFile(t, "fuzz");
    if (c.isOk()) {
      ++accepted;
      EXPECT_TRUE(c->check().isOk());
    } else {
      EXPECT_EQ(c.status().message().rfind("fuzz:", 0), 0u) << c.status().message();
    }
    auto s = parseClusterShorthand(t);  // must not crash either
    (void)s;
  }
  EXPECT_GT(accepted, 0);  // some mutations (e.g. in a comment) keep the file valid
}

}  // namespace
}  // namespace tessera::partition::cost

namespace tessera::partition::cost {
namespace {

// A level's achievable fraction (nccl-tests bus bandwidth over link rate): parsed, checked,
// used by the ring formulas, and the shipped GPU networks carry theirs.
TEST(ClusterFile, LevelEfficiency) {
  auto c = parseClusterFile("device a100-80g\nnodes 1\ndevices_per_node 8\n"
                            "level nvlink bandwidth=300GB/s latency=0us efficiency=0.5\n", "f");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_DOUBLE_EQ(c->levels[0].efficiency, 0.5);
  EXPECT_DOUBLE_EQ(ringSeconds(CollectiveKind::AllGather, 8e9, 8, c->levels[0]), 7.0 / 8 * 8e9 / 150e9);
  auto bad = parseClusterFile("device cpu\nlevel shm bandwidth=1GB/s latency=1us efficiency=1.5\n", "f");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("efficiency must be in (0, 1]"), std::string::npos);
  auto a100 = parseClusterShorthand("2x8:a100-80g");
  ASSERT_TRUE(a100.isOk());
  EXPECT_DOUBLE_EQ(a100->levels[0].effectiveBandwidth(), 232.5e9);
  EXPECT_DOUBLE_EQ(a100->levels[1].effectiveBandwidth(), 24e9);
}

}  // namespace
}  // namespace tessera::partition::cost
