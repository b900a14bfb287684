// The distributed launcher end to end: `tessera train MODEL -np 4 --mesh dp=2,tp=2` (which starts
// mpirun itself) and `tessera plan` + `mpirun tessera run` give the single-device `tessera train`
// losses; each bad input ends with a clear error and a non-zero exit before any collective; a rank
// killed mid-run ends the job, naming it, within 60 s. Each test runs the `tessera` binary (and
// mpirun) as a user would, through a shell; `timeout` is a backstop against hangs.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "LauncherShell.h"

#ifndef TESSERA_BINARY
#error "TESSERA_BINARY must be defined by tests/mpi/CMakeLists.txt (file USES_TESSERA)"
#endif

namespace {

using namespace launcher_test;

const std::string kTessera = TESSERA_BINARY;
const std::string kMpirun = std::string(TESSERA_MPIEXEC) + " --oversubscribe";
// Both sides on the compiled engine (the default).
const std::string kEngine = "--engine=compiled";
// A tiny GPT; SGD so that every parameter's update is proportional to its gradient.
const std::string kModel = " gpt --layers 2 --hidden 16 --heads 2 --seq 16 --batch 4 --steps 3 "
                           "--optimizer sgd --lr 0.1 --momentum 0.9 --seed 5 ";

void expectSameLosses(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), 3u);
  ASSERT_EQ(want.size(), 3u);
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-5 * std::abs(want[i])) << "step " << i + 1;
  EXPECT_NE(want.front(), want.back());  // the loss moves: not two constant curves
}

std::vector<double> singleDevice(const std::string& dir) {
  Result r = sh(kTessera + " train" + kModel + kEngine + " --log-json " + dir + "/single.json");
  EXPECT_EQ(r.exitCode, 0) << r.output;
  return losses(dir + "/single.json");
}

TEST(Launcher, TrainNp4EqualsOneDevice) {
  const std::string dir = scratch("train-np");
  std::vector<double> want = singleDevice(dir);
  Result r = sh(kTessera + " train" + kModel + kEngine +
                " -np 4 --mesh dp=2,tp=2 --parallel dp,megatron --log-json " + dir +
                "/dist.json --log-dir " + dir + "/logs");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_TRUE(has(r.output, "step 3/3")) << r.output;  // rank 0's step lines
  EXPECT_TRUE(has(r.output, "tok/s")) << r.output;
  expectSameLosses(losses(dir + "/dist.json"), want);
  for (int rank = 0; rank < 4; ++rank) {
    std::ifstream log(dir + "/logs/rank" + std::to_string(rank) + ".log");
    std::stringstream text;
    text << log.rdbuf();
    EXPECT_TRUE(has(text.str(), "step 3/3")) << "rank " << rank << ":\n" << text.str();
  }
}

TEST(Launcher, PlanThenMpirunRunEqualsOneDevice) {
  const std::string dir = scratch("plan-run");
  std::vector<double> want = singleDevice(dir);
  Result plan = sh(kTessera + " plan" + kModel + "--mesh dp=2,tp=2 --parallel dp,megatron -o " +
                   dir + "/plan.tpb");
  ASSERT_EQ(plan.exitCode, 0) << plan.output;
  EXPECT_TRUE(has(plan.output, "mesh dp=2 x tp=2 (4 ranks)")) << plan.output;
  EXPECT_TRUE(has(plan.output, "parameters per rank")) << plan.output;
  EXPECT_TRUE(has(plan.output, "collectives over")) << plan.output;
  Result run = sh(kMpirun + " -np 4 " + kTessera + " run " + dir + "/plan.tpb --steps 3 " +
                  kEngine + " --log-json " + dir + "/run.json --save " + dir + "/params");
  ASSERT_EQ(run.exitCode, 0) << run.output;
  expectSameLosses(losses(dir + "/run.json"), want);
  // --save: the assembled global parameters, e.g. the vocab-split embedding table whole.
  EXPECT_TRUE(fs::exists(dir + "/params/wte.npy")) << run.output;
}

// ---- bad input: a clear error, a non-zero exit, and no hang ----

TEST(LauncherBadInput, MeshSizeIsNotTheRankCount) {
  Result r = sh(kTessera + " train" + kModel + "-np 2 --mesh dp=4 --parallel dp");
  EXPECT_EQ(r.exitCode, 2) << r.output;
  EXPECT_TRUE(has(r.output, "--mesh dp=4 with -np 2")) << r.output;
  EXPECT_TRUE(has(r.output, "has 4 devices")) << r.output;
}

TEST(LauncherBadInput, AxisNamedTwice) {
  const std::string dir = scratch("twice");
  Result r = sh(kTessera + " plan" + kModel + "--mesh dp=2,dp=2 -o " + dir + "/p.tpb");
  EXPECT_EQ(r.exitCode, 2) << r.output;
  EXPECT_TRUE(has(r.output, "axis 'dp' named twice")) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/p.tpb"));
}

TEST(LauncherBadInput, PresetAxisMissingFromTheMesh) {
  const std::string dir = scratch("axis");
  Result r = sh(kTessera + " plan" + kModel + "--mesh dp=4 --parallel dp,megatron -o " + dir +
                "/p.tpb");
  EXPECT_EQ(r.exitCode, 2) << r.output;
  EXPECT_TRUE(has(r.output, "has no axis 'tp'")) << r.output;
}

class LauncherPlanFile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = scratch("planfile");
    Result r = sh(kTessera + " plan" + kModel + "--mesh dp=4 --parallel dp -o " + dir_ +
                  "/plan.tpb");
    ASSERT_EQ(r.exitCode, 0) << r.output;
  }
  static std::string bytes() {
    std::ifstream in(dir_ + "/plan.tpb", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static std::string write(const std::string& name, const std::string& b) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << b;
    return dir_ + "/" + name;
  }
  static Result run(const std::string& plan, int np) {
    return sh(kMpirun + " -np " + std::to_string(np) + " " + kTessera + " run " + plan +
                  " --steps 1 " + kEngine,
              120);
  }
  static std::string dir_;
};
std::string LauncherPlanFile::dir_;

TEST_F(LauncherPlanFile, PlanForAnotherRankCount) {
  Result r = run(dir_ + "/plan.tpb", 2);
  EXPECT_NE(r.exitCode, 0) << r.output;
  EXPECT_TRUE(has(r.output, "the plan was built for 4 ranks (mesh dp=4) but the job has 2"))
      << r.output;
}

TEST_F(LauncherPlanFile, CorruptPlan) {
  std::string b = bytes();
  Result truncated = run(write("truncated.tpb", b.substr(0, b.size() / 2)), 4);
  EXPECT_NE(truncated.exitCode, 0) << truncated.output;
  EXPECT_TRUE(has(truncated.output, "the plan file is corrupt")) << truncated.output;
  Result notPlan = run(write("text.tpb", "module {}\n"), 4);
  EXPECT_NE(notPlan.exitCode, 0) << notPlan.output;
  EXPECT_TRUE(has(notPlan.output, "not a Tessera plan file")) << notPlan.output;
}

TEST_F(LauncherPlanFile, PlanFromAnotherFormatVersion) {
  std::string b = bytes();
  b[8] = 2;  // the little-endian format version after the 8-byte magic
  Result r = run(write("v2.tpb", b), 4);
  EXPECT_NE(r.exitCode, 0) << r.output;
  EXPECT_TRUE(has(r.output, "plan file format version 2")) << r.output;
}

// A rank killed mid-run: mpirun notices, ends the others and names the dead rank.
TEST_F(LauncherPlanFile, KilledRankEndsTheJobNamingIt) {
  const std::string log = dir_ + "/kill-logs";
  // Many steps so the job is still running when rank 2 is killed (once its log shows step 1).
  const std::string cmd =
      "sh -c '" + kMpirun + " -np 4 " + kTessera + " run " + dir_ + "/plan.tpb --steps 100000 " +
      kEngine + " --log-dir " + log + " & job=$!; " +
      "for i in $(seq 1 900); do grep -q \"step 1/\" " + log + "/rank2.log 2>/dev/null && break; "
      "sleep 0.1; done; "
      "t0=$(date +%s); kill -9 $(sed -n \"s/^pid //p\" " + log + "/rank2.log); "
      "wait $job; rc=$?; echo \"ended $(( $(date +%s) - t0 )) s after the kill\"; exit $rc'";
  Result r = sh(cmd, 200);
  EXPECT_NE(r.exitCode, 0) << r.output;
  EXPECT_NE(r.exitCode, 124) << "the job hung until the backstop:\n" << r.output;
  int after = -1;
  if (size_t at = r.output.find("ended "); at != std::string::npos)
    after = std::atoi(r.output.c_str() + at + 6);
  EXPECT_GE(after, 0) << r.output;
  EXPECT_LT(after, 60) << r.output;
  EXPECT_TRUE(has(r.output, "rank 2")) << r.output;
}

}  // namespace
