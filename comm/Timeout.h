// Collective timeouts: how long a rank waits for a collective before it ends the whole job.
//
// A rank that dies or never reaches a collective must not leave the others spinning forever. Every
// blocking wait in comm/ therefore polls its request against a deadline; when the deadline passes,
// the backend prints timeoutMessage() on stderr and ends the job (MPI_Abort). The limit is generous
// by default (a slow step is not a hang) and the environment variable TESSERA_COLLECTIVE_TIMEOUT_S
// overrides it, e.g. to make a fault test fail in seconds.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "comm/Status.h"

namespace tessera::comm {

inline constexpr const char* kTimeoutEnvVar = "TESSERA_COLLECTIVE_TIMEOUT_S";

enum class DeviceKind { Cpu, Gpu };

// 30 minutes on CPU ranks, 10 minutes on GPU ranks.
double defaultTimeoutSeconds(DeviceKind kind);

// Parses a timeout in seconds: a finite number > 0 ("2", "0.5", "1800"). The error names `origin`
// (e.g. the environment variable) and the text.
StatusOr<double> parseTimeoutSeconds(std::string_view text, std::string_view origin);

// The timeout for `kind`: the value of TESSERA_COLLECTIVE_TIMEOUT_S when `envValue` is non-null (the
// caller passes getenv's result; separate so tests need not touch the environment), else the default.
StatusOr<double> resolveTimeoutSeconds(DeviceKind kind, const char* envValue);
StatusOr<double> timeoutSecondsFromEnvironment(DeviceKind kind);

// The line printed when a collective times out. Names the world rank, the communicator (axis) with
// the rank's place in it, and the collective.
std::string timeoutMessage(int worldRank, std::string_view communicator, int commRank, int commSize,
                           std::string_view collective, double seconds);

// Calls `test` until it reports done or fails, or until `seconds` have passed. Spins briefly, then
// yields, then sleeps in short steps so that oversubscribed ranks leave the cores to the ranks that
// have work. Returns test's error, or sets *expired and returns ok when the deadline passed.
Status pollUntilDone(const std::function<Status(bool* done)>& test, double seconds, bool* expired);

}  // namespace tessera::comm
