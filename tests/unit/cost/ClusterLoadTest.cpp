// `--cluster`'s argument (cost::loadCluster: a file or the shorthand), the cluster file that
// bench/cpu_calibrate writes, and ranks time-sharing the devices of one node (cost::timeShared).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "partition/cost/ClusterSpec.h"
#include "partition/cost/CollectiveCost.h"

namespace tessera::partition::cost {
namespace {

std::string writeTemp(const std::string& name, const std::string& text) {
  const std::filesystem::path p = std::filesystem::temp_directory_path() /
                                  ("tessera_cluster_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p) << text;
  return p.string();
}

// The shape of what bench/cpu_calibrate writes: comments with the raw measurements, then the
// fitted device on one line, one device per core, and the fitted shared-memory level.
const char* kCalibrated =
    "# This machine, calibrated by bench/cpu_calibrate on 2026-11-26 02:00 UTC.\n"
    "# fma_peak isa=avx2 threads=1 gflops=96.0 (96.0 per thread)\n"
    "# fit gemm_max=0.800 gemm_half_dim=24 (rms relative error 6.0%)\n"
    "name cpu-calibrated\n"
    "device cpu peak.f32=90G peak.bf16=90G peak.f16=90G peak.f64=45G peak.i32=90G peak.i64=90G "
    "vector=90G memory=12.5GB bandwidth=9.5GB/s memory_efficiency=1 gemm_max=0.800 gemm_half_dim=24\n"
    "nodes 1\n"
    "devices_per_node 2\n"
    "level shm bandwidth=4.2GB/s latency=1.5us\n";

TEST(ClusterLoad, ReadsTheCalibrationFile) {
  const std::string path = writeTemp("calibrated.cluster", kCalibrated);
  auto c = loadCluster(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->name, "cpu-calibrated");
  EXPECT_EQ(c->device.name, "cpu");  // the planner keys fp32 training on the name
  EXPECT_EQ(c->numDevices(), 2);
  EXPECT_DOUBLE_EQ(c->device.peak(ir::DType::F32), 90e9);
  EXPECT_DOUBLE_EQ(c->device.peak(ir::DType::F64), 45e9);
  EXPECT_DOUBLE_EQ(c->device.memoryBandwidth, 9.5e9);
  EXPECT_DOUBLE_EQ(c->device.gemm.max, 0.8);
  EXPECT_DOUBLE_EQ(c->device.gemm.halfDim, 24);
  ASSERT_EQ(c->levels.size(), 1u);
  EXPECT_DOUBLE_EQ(c->levels[0].bandwidth, 4.2e9);
  EXPECT_DOUBLE_EQ(c->levels[0].latency, 1.5e-6);
  EXPECT_EQ(c->levels[0].span, 2);
}

TEST(ClusterLoad, ShorthandWhenNoSuchFile) {
  auto c = loadCluster("4x8:a100-80g");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->numDevices(), 32);
}

TEST(ClusterLoad, ErrorsNameTheFlagOrTheLine) {
  // A path that does not exist: said so, not parsed as a shorthand.
  auto missing = loadCluster("/nonexistent/dir/cpu.cluster", "--cluster");
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("--cluster '/nonexistent/dir/cpu.cluster': no such file"),
            std::string::npos)
      << missing.status().message();
  // A bad shorthand names the flag.
  auto bad = loadCluster("4x8:v100", "--cluster");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("--cluster '4x8:v100'"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("unknown device 'v100'"), std::string::npos);
  // A bad file names file:line:col.
  const std::string path = writeTemp("bad.cluster", "device cpu\nnodes 1\nlevel shm bandwidth=fast latency=1us\n");
  auto file = loadCluster(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(file.isOk());
  EXPECT_NE(file.status().message().find(path + ":3:21: error:"), std::string::npos) << file.status().message();
  // A directory is not a cluster file.
  auto dir = loadCluster(std::filesystem::temp_directory_path().string());
  ASSERT_FALSE(dir.isOk());
  EXPECT_NE(dir.status().message().find("not a regular file"), std::string::npos);
  EXPECT_FALSE(loadCluster("").isOk());
}

TEST(TimeShared, FourRanksOnTwoCoresGetHalfACoreEach) {
  auto c = parseClusterFile(kCalibrated, "cal");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  auto t = timeShared(*c, 4);
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->numDevices(), 4);
  EXPECT_DOUBLE_EQ(t->device.peak(ir::DType::F32), 45e9);
  EXPECT_DOUBLE_EQ(t->device.vectorPeak, 45e9);
  EXPECT_DOUBLE_EQ(t->device.memoryBandwidth, 4.75e9);
  EXPECT_DOUBLE_EQ(t->device.launchOverhead, 2 * c->device.launchOverhead);
  EXPECT_DOUBLE_EQ(t->device.gemm.max, c->device.gemm.max);  // efficiency is not a rate
  ASSERT_EQ(t->levels.size(), 1u);
  EXPECT_DOUBLE_EQ(t->levels[0].bandwidth, 2.1e9);
  EXPECT_DOUBLE_EQ(t->levels[0].latency, 3e-6);
  EXPECT_EQ(t->levels[0].span, 4);
  EXPECT_TRUE(t->check().isOk()) << t->check().message();
  // A 2-rank all-reduce of S bytes on the shared cluster: 2 steps of latency + S / bandwidth,
  // at the time-shared figures (CollectiveCost.h's ring formula by hand).
  const double s = 1e6;
  EXPECT_NEAR(ringSeconds(CollectiveKind::AllReduce, s, 2, t->levels[0]), 2 * 3e-6 + s / 2.1e9, 1e-12);
}

TEST(TimeShared, NoMoreRanksThanDevicesChangesNothing) {
  auto c = parseClusterFile(kCalibrated, "cal");
  ASSERT_TRUE(c.isOk());
  auto t = timeShared(*c, 2);
  ASSERT_TRUE(t.isOk());
  EXPECT_EQ(t->numDevices(), 2);
  EXPECT_DOUBLE_EQ(t->device.peak(ir::DType::F32), 90e9);
  EXPECT_EQ(t->name, c->name);
}

TEST(TimeShared, ErrorsAcrossNodesAndForNoRanks) {
  auto c = parseClusterShorthand("2x8:a100-80g");
  ASSERT_TRUE(c.isOk());
  auto t = timeShared(*c, 32);
  ASSERT_FALSE(t.isOk());
  EXPECT_NE(t.status().message().find("inside one node only"), std::string::npos) << t.status().message();
  EXPECT_FALSE(timeShared(*c, 0).isOk());
}

}  // namespace
}  // namespace tessera::partition::cost
