// `tessera plan --auto` runs under the launcher unchanged, and a batch the mesh does not divide
// trains through the launcher: for the tiny zoo GPT,
//   - `tessera plan gpt --auto -np N -o plan.tpb` (N = 2, 4: a 1xN:cpu cluster) written, then
//     `mpirun -np N tessera run plan.tpb`: its losses equal single-device `tessera train` of the
//     same model and batch within 1e-5 relative;
//   - `tessera plan gpt --auto -np 2` without -o prints a `run it:` command line; that line, run
//     verbatim through a shell, trains with the same losses (its --log-json is one of the flags
//     the plan command passes through);
//   - `tessera train gpt -np 2 --mesh dp=2 --parallel dp --batch 5` (and plan + run) equal one
//     device at batch 5: the launcher fixes the step to batch 5 and shards it 3 + 2 rows;
//   - rank 0 reports the communication of its steps (line and --log-json fields), and
//     TESSERA_DIST_ASYNC=1 turns the async schedule and gradient buckets on (CPU ranks block by
//     default), =0 off.
// The bad-input cases of --auto (no MPI involved) are text tests: tests/text/cli/plan-auto*.tir.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "LauncherShell.h"

namespace {

using namespace launcher_test;

const std::string kTessera = TESSERA_BINARY;
const std::string kMpirun = std::string(TESSERA_MPIEXEC) + " --oversubscribe";
// The model and optimizer; the batch is added per test. SGD with momentum: every update is
// proportional to its gradient, so a wrong gradient shows in the next step's loss.
const std::string kModel = " gpt --layers 2 --hidden 16 --heads 2 --seq 16 --steps 3 "
                           "--optimizer sgd --lr 0.1 --momentum 0.9 --seed 5 ";

void expectSameLosses(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), 3u);
  ASSERT_EQ(want.size(), 3u);
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-5 * std::abs(want[i])) << "step " << i + 1;
  EXPECT_NE(want.front(), want.back());  // the loss moves: not two constant curves
}

std::vector<double> singleDevice(const std::string& dir, int batch) {
  const std::string log = dir + "/single-b" + std::to_string(batch) + ".json";
  Result r = sh(kTessera + " train" + kModel + "--batch " + std::to_string(batch) +
                " --log-json " + log);
  EXPECT_EQ(r.exitCode, 0) << r.output;
  return losses(log);
}

// The line after "run it:  " in the plan's output ("" when there is none).
std::string runItLine(const std::string& out) {
  const std::string tag = "run it:  ";
  size_t at = out.find(tag);
  if (at == std::string::npos) return "";
  at += tag.size();
  return out.substr(at, out.find('\n', at) - at);
}

class PlanAutoRuns : public ::testing::TestWithParam<int> {};

TEST_P(PlanAutoRuns, WrittenPlanRunsUnderMpirunAndEqualsOneDevice) {
  const int np = GetParam();
  const std::string dir = scratch("auto-np" + std::to_string(np));
  std::vector<double> want = singleDevice(dir, 4);
  Result plan = sh(kTessera + " plan" + kModel + "--auto --global-batch 4 -np " +
                   std::to_string(np) + " -o " + dir + "/plan.tpb");
  ASSERT_EQ(plan.exitCode, 0) << plan.output;
  EXPECT_TRUE(has(plan.output, "cluster  1x" + std::to_string(np) + ":cpu")) << plan.output;
  EXPECT_TRUE(has(plan.output, "plan     dp=")) << plan.output;
  EXPECT_TRUE(has(plan.output, "(" + std::to_string(np) + " ranks)")) << plan.output;
  EXPECT_TRUE(has(plan.output, "wrote " + dir + "/plan.tpb")) << plan.output;
  EXPECT_FALSE(has(plan.output, "run it:")) << plan.output;  // -o: the plan file instead
  Result run = sh(kMpirun + " -np " + std::to_string(np) + " " + kTessera + " run " + dir +
                  "/plan.tpb --steps 3 --log-json " + dir + "/run.json");
  ASSERT_EQ(run.exitCode, 0) << plan.output << run.output;
  expectSameLosses(losses(dir + "/run.json"), want);
}

INSTANTIATE_TEST_SUITE_P(Ranks, PlanAutoRuns, ::testing::Values(2, 4));

TEST(PlanAuto, PrintedCommandLineRunsVerbatim) {
  const std::string dir = scratch("auto-printed");
  std::vector<double> want = singleDevice(dir, 4);
  Result plan = sh(kTessera + " plan" + kModel + "--batch 4 --auto -np 2 --log-json " + dir +
                   "/printed.json");
  ASSERT_EQ(plan.exitCode, 0) << plan.output;
  const std::string line = runItLine(plan.output);
  ASSERT_FALSE(line.empty()) << plan.output;
  EXPECT_TRUE(has(line, " train gpt -np 2 --mesh ")) << line;
  EXPECT_TRUE(has(line, "--batch 4")) << line;
  EXPECT_TRUE(has(line, "--layers 2")) << line;  // the zoo's size flags are repeated
  Result run = sh(line);
  ASSERT_EQ(run.exitCode, 0) << line << "\n" << run.output;
  expectSameLosses(losses(dir + "/printed.json"), want);
}

// ---- a batch dp does not divide: 5 sequences over dp=2 ----

TEST(UnevenBatch, TrainNp2Batch5EqualsOneDevice) {
  const std::string dir = scratch("uneven-train");
  std::vector<double> want = singleDevice(dir, 5);
  Result r = sh(kTessera + " train" + kModel + "--batch 5 -np 2 --mesh dp=2 --parallel dp "
                "--log-json " + dir + "/dist.json");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  EXPECT_TRUE(has(r.output, "uneven shards")) << r.output;
  expectSameLosses(losses(dir + "/dist.json"), want);
}

TEST(UnevenBatch, PlanThenRunBatch5EqualsOneDevice) {
  const std::string dir = scratch("uneven-plan");
  std::vector<double> want = singleDevice(dir, 5);
  Result plan = sh(kTessera + " plan" + kModel + "--batch 5 --mesh dp=2 --parallel dp -o " + dir +
                   "/plan.tpb");
  ASSERT_EQ(plan.exitCode, 0) << plan.output;
  Result run = sh(kMpirun + " -np 2 " + kTessera + " run " + dir + "/plan.tpb --steps 3 " +
                  "--log-json " + dir + "/run.json");
  ASSERT_EQ(run.exitCode, 0) << run.output;
  expectSameLosses(losses(dir + "/run.json"), want);
  // The plan is fixed to batch 5: another batch is refused before any collective.
  Result other = sh(kMpirun + " -np 2 " + kTessera + " run " + dir + "/plan.tpb --steps 1 " +
                    "--batch 6", 120);
  EXPECT_NE(other.exitCode, 0) << other.output;
  EXPECT_TRUE(has(other.output, "--batch 6: the model's batch is 5")) << other.output;
}

// ---- what the collectives cost, reported by rank 0 ----

struct Comm {
  int64_t calls = 0, bytes = 0;
};

Comm lastStepComm(const std::string& jsonLines) {
  Comm c;
  std::ifstream in(jsonLines);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) {
      nlohmann::json j = nlohmann::json::parse(line);
      c.calls = j.value("comm_calls", int64_t{-1});
      c.bytes = j.value("comm_bytes", int64_t{-1});
    }
  return c;
}

TEST(Communication, ReportedPerStepAndBucketsMergeCalls) {
  const std::string dir = scratch("comm");
  const std::string train = kTessera + " train" + kModel + "--batch 4 -np 2 --mesh dp=2 "
                            "--parallel dp --log-json ";
  Result async = sh("env TESSERA_DIST_ASYNC=1 " + train + dir + "/async.json");
  ASSERT_EQ(async.exitCode, 0) << async.output;
  EXPECT_TRUE(has(async.output, "communication (rank 0, median per step):")) << async.output;
  EXPECT_TRUE(has(async.output, "(async start/done)")) << async.output;
  Result blocking = sh("env TESSERA_DIST_ASYNC=0 " + train + dir + "/blocking.json");
  ASSERT_EQ(blocking.exitCode, 0) << blocking.output;
  EXPECT_TRUE(has(blocking.output, "(blocking)")) << blocking.output;
  // dp=2: at least one gradient all_reduce per parameter tensor (2 layers of 12, and wte, wpe
  // and the final LayerNorm's 2) when blocking; the 4 MiB buckets merge them into fewer calls.
  const Comm a = lastStepComm(dir + "/async.json"), b = lastStepComm(dir + "/blocking.json");
  EXPECT_GE(b.calls, 28) << blocking.output;
  EXPECT_GT(a.calls, 0) << async.output;
  EXPECT_LT(a.calls, b.calls);
  EXPECT_GT(a.bytes, 0);
  // Same losses either way (the schedule changes when, not what).
  expectSameLosses(losses(dir + "/async.json"), losses(dir + "/blocking.json"));
}

}  // namespace
