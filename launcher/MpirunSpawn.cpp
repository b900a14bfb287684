// Starting mpirun (MpirunSpawn.h).
#include "launcher/MpirunSpawn.h"

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

extern char** environ;

namespace tessera::launcher {

namespace {

bool isExecutable(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

// TESSERA_MPIRUN, else `mpirun` on PATH.
StatusOr<std::string> findMpirun() {
  if (const char* e = std::getenv("TESSERA_MPIRUN"); e && *e) {
    if (!isExecutable(e)) return Status::error("TESSERA_MPIRUN='" + std::string(e) +
                                               "' is not an executable file");
    return std::string(e);
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (!dir.empty() && isExecutable(dir + "/mpirun")) return dir + "/mpirun";
    start = end + 1;
  }
  return Status::error("-np: cannot find mpirun on PATH (install Open MPI, or set TESSERA_MPIRUN)");
}

}  // namespace

StatusOr<std::string> thisExecutable() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return Status::error(std::string("cannot find the tessera executable: ") +
                                   std::strerror(errno));
  return std::string(buf, static_cast<size_t>(n));
}

std::vector<std::string> mpirunCommand(const std::string& mpirun, int np,
                                       const std::string& program,
                                       const std::vector<std::string>& args) {
  std::vector<std::string> cmd = {mpirun, "-np", std::to_string(np)};
  // Open MPI refuses more ranks than cores (slots) unless told otherwise.
  const unsigned cores = std::thread::hardware_concurrency();
  if (cores == 0 || static_cast<unsigned>(np) > cores) cmd.push_back("--oversubscribe");
  cmd.push_back(program);
  cmd.insert(cmd.end(), args.begin(), args.end());
  return cmd;
}

StatusOr<int> runMpirun(int np, const std::string& program, const std::vector<std::string>& args) {
  TRY_ASSIGN(std::string mpirun, findMpirun());
  std::vector<std::string> cmd = mpirunCommand(mpirun, np, program, args);
  // Ranks compute on one thread each (the engine calls OpenBLAS single-threaded). Without this,
  // the pthreads OpenBLAS starts an idle worker per further core it may run on at load time —
  // ranks that Open MPI does not bind (-np above the cores) each carry one that never works.
  ::setenv("OPENBLAS_NUM_THREADS", "1", 1);
  if (::geteuid() == 0) {
    // Open MPI refuses to run as root without both of these.
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  }
  std::vector<char*> argv;
  for (std::string& s : cmd) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (int e = ::posix_spawn(&pid, mpirun.c_str(), nullptr, nullptr, argv.data(), environ); e != 0)
    return Status::error("cannot start " + mpirun + ": " + std::strerror(e));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return Status::error(std::string("waiting for mpirun: ") +
                                             std::strerror(errno));
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace tessera::launcher
