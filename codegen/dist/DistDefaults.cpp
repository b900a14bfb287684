// Per-device defaults for running collectives and their environment overrides (see
// DistDefaults.h).
#include "codegen/dist/DistDefaults.h"

#include <cerrno>
#include <cstdlib>
#include <string>

namespace tessera::codegen {

DistOptions defaultDistOptions(comm::DeviceKind kind) {
  DistOptions o;
  if (kind == comm::DeviceKind::Cpu) {
    o.async = false;
    o.bucketBytes = 0;  // buckets need the start/done split
  }
  return o;
}

StatusOr<DistOptions> resolveDistOptions(comm::DeviceKind kind, const char* async,
                                         const char* bucketBytes) {
  DistOptions o = defaultDistOptions(kind);
  if (async) {
    const std::string v = async;
    if (v == "1") {
      o.async = true;
      o.bucketBytes = DistOptions{}.bucketBytes;
    } else if (v == "0") {
      o.async = false;
      o.bucketBytes = 0;
    } else {
      return Status::error(std::string(kDistAsyncEnvVar) + "='" + v +
                           "': expected 1 (overlap collectives with compute) or 0 (block)");
    }
  }
  if (bucketBytes) {
    const std::string v = bucketBytes;
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0 || n < 0)
      return Status::error(std::string(kDistBucketBytesEnvVar) + "='" + v +
                           "': expected a byte count >= 0 (0: no gradient buckets)");
    o.bucketBytes = n;
  }
  return o;
}

StatusOr<DistOptions> distOptionsFromEnvironment(comm::DeviceKind kind) {
  return resolveDistOptions(kind, std::getenv(kDistAsyncEnvVar),
                            std::getenv(kDistBucketBytesEnvVar));
}

}  // namespace tessera::codegen
