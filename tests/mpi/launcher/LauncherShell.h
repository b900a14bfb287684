// Running the `tessera` binary and mpirun from the launcher tests as a user would: through a shell,
// with the root variables Open MPI needs here and `timeout` as a backstop against hangs; each
// test's files in a fresh directory; the losses of a --log-json file.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace launcher_test {

namespace fs = std::filesystem;

struct Result {
  int exitCode = -1;
  double seconds = 0;
  std::string output;
};

inline Result sh(const std::string& command, int backstopSeconds = 240) {
  const std::string cmd = "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
                          "TESSERA_COLLECTIVE_TIMEOUT_S=60 timeout -k 5 " +
                          std::to_string(backstopSeconds) + " " + command + " 2>&1";
  const auto start = std::chrono::steady_clock::now();
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

inline bool has(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

// A fresh directory for one test's files.
inline std::string scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("tessera-launcher-test-" + std::to_string(getpid()));
  d /= name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

inline std::vector<double> losses(const std::string& jsonLines) {
  std::vector<double> out;
  std::ifstream in(jsonLines);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line)["loss"].get<double>());
  return out;
}

}  // namespace launcher_test
