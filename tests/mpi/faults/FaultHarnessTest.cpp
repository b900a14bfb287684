// A rank that dies or never reaches a collective must end the whole job, non-zero, within 60 s, with
// a message naming the rank. Each test starts `mpirun` on the fault program (faults/program) itself
// and checks the job's exit status, its duration and its output.
//
// What this machine's Open MPI (4.1) does: when a rank exits or is killed, mpirun notices at once,
// ends the other ranks and names the dead one ("process rank 1 ... exited on signal 9", or
// "Process name: [[job,1],1] / Exit code: 1"). A rank that is alive but never joins is caught by
// Tessera's own collective timeout (TESSERA_COLLECTIVE_TIMEOUT_S, set small here).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <string>

#ifndef TESSERA_MPI_PROGRAM
#error "TESSERA_MPI_PROGRAM (the fault program) must be defined by tests/mpi/CMakeLists.txt"
#endif

namespace {

struct JobResult {
  int exitCode = -1;
  double seconds = 0;
  std::string output;
};

// Runs the fault program on `np` ranks; `timeout` (coreutils) is a backstop so that a hang fails
// this test instead of stalling ctest.
JobResult runJob(int np, const std::string& mode, const std::string& collectiveTimeout) {
  std::string cmd = "env TESSERA_COLLECTIVE_TIMEOUT_S=" + collectiveTimeout +
                    " OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout -k 5 100 " +
                    std::string(TESSERA_MPIEXEC) + " -np " + std::to_string(np) +
                    " --oversubscribe " + TESSERA_MPI_PROGRAM + " " + mode + " 2>&1";
  auto start = std::chrono::steady_clock::now();
  JobResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

bool has(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

}  // namespace

TEST(CommFaults, HealthyJobSucceeds) {
  JobResult r = runJob(2, "ok", "30");
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_TRUE(has(r.output, "fault program: sum 2")) << r.output;
}

TEST(CommFaults, RankThatNeverJoinsEndsTheJobByTimeout) {
  JobResult r = runJob(2, "timeout", "2");
  EXPECT_NE(r.exitCode, 0) << r.output;
  EXPECT_NE(r.exitCode, 124) << "the job hung until the backstop:\n" << r.output;
  EXPECT_LT(r.seconds, 60.0) << r.output;
  EXPECT_TRUE(has(r.output, "tessera: collective timeout: rank 0 (rank 0 of 2 in communicator "
                            "'world') waited 2 s for all_reduce(sum, f64 x 1)"))
      << r.output;
}

TEST(CommFaults, TimeoutOnAnAxisNamesTheAxisCommunicator) {
  JobResult r = runJob(4, "timeout-tp", "2");
  EXPECT_NE(r.exitCode, 0) << r.output;
  EXPECT_LT(r.seconds, 60.0) << r.output;
  EXPECT_TRUE(has(r.output, "rank 2 (rank 0 of 2 in communicator 'tp') waited 2 s for "
                            "all_reduce(sum, f64 x 1)"))
      << r.output;
}

TEST(CommFaults, RankThatExitsEndsTheJobNamingIt) {
  // The collective timeout is far beyond the 60 s limit: ending the job is up to the launcher.
  JobResult r = runJob(2, "exit", "600");
  EXPECT_NE(r.exitCode, 0) << r.output;
  EXPECT_NE(r.exitCode, 124) << "the job hung until the backstop:\n" << r.output;
  EXPECT_LT(r.seconds, 60.0) << r.output;
  // Open MPI names the process as [[jobid,1],rank].
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(Process name: \[\[[0-9]+,[0-9]+\],1\])")))
      << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(Exit code: +1)"))) << r.output;
}

TEST(CommFaults, KilledRankEndsTheJobNamingIt) {
  JobResult r = runJob(4, "kill", "600");
  EXPECT_NE(r.exitCode, 0) << r.output;
  EXPECT_NE(r.exitCode, 124) << "the job hung until the backstop:\n" << r.output;
  EXPECT_LT(r.seconds, 60.0) << r.output;
  EXPECT_TRUE(has(r.output, "process rank 1 with PID")) << r.output;
  EXPECT_TRUE(has(r.output, "signal 9")) << r.output;
}
