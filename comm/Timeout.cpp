// Timeout defaults, parsing and the polling loop behind every blocking wait (see Timeout.h).
#include "comm/Timeout.h"

#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace tessera::comm {

double defaultTimeoutSeconds(DeviceKind kind) {
  return kind == DeviceKind::Gpu ? 10.0 * 60.0 : 30.0 * 60.0;
}

StatusOr<double> parseTimeoutSeconds(std::string_view text, std::string_view origin) {
  std::string s(text);
  auto bad = [&] {
    return Status::error(std::string(origin) + "='" + s +
                         "': expected a timeout in seconds (a number greater than 0)");
  };
  // strtod alone would accept leading blanks, "inf" and hex; a timeout is a plain decimal number.
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.')) return bad();
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v) || v <= 0) return bad();
  return v;
}

StatusOr<double> resolveTimeoutSeconds(DeviceKind kind, const char* envValue) {
  if (!envValue) return defaultTimeoutSeconds(kind);
  return parseTimeoutSeconds(envValue, kTimeoutEnvVar);
}

StatusOr<double> timeoutSecondsFromEnvironment(DeviceKind kind) {
  return resolveTimeoutSeconds(kind, std::getenv(kTimeoutEnvVar));
}

std::string timeoutMessage(int worldRank, std::string_view communicator, int commRank, int commSize,
                           std::string_view collective, double seconds) {
  char secs[32];
  std::snprintf(secs, sizeof secs, "%g", seconds);
  return "tessera: collective timeout: rank " + std::to_string(worldRank) + " (rank " +
         std::to_string(commRank) + " of " + std::to_string(commSize) + " in communicator '" +
         std::string(communicator) + "') waited " + secs + " s for " + std::string(collective) +
         " to complete; another rank died or never issued it (limit set by " + kTimeoutEnvVar +
         "); ending the job";
}

Status pollUntilDone(const std::function<Status(bool* done)>& test, double seconds, bool* expired) {
  using Clock = std::chrono::steady_clock;
  *expired = false;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(seconds));
  // Short collectives finish within microseconds to a millisecond: spin that long (as MPI_Wait
  // would). Longer waits give the core away, which matters when ranks outnumber cores
  // (--oversubscribe) and costs little once a wait is that long.
  for (long polls = 0;; ++polls) {
    bool done = false;
    TESSERA_COMM_TRY(test(&done));
    if (done) return Status::ok();
    auto now = Clock::now();
    if (now >= deadline) {
      *expired = true;
      return Status::ok();
    }
    if (polls < 200 || now - start < std::chrono::milliseconds(1)) continue;
    if (now - start < std::chrono::milliseconds(20))
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

}  // namespace tessera::comm
