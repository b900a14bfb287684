// Local rank discovery from the environment (see LocalRank.h).
#include "comm/LocalRank.h"

#include <cstdlib>
#include <string>

namespace tessera::comm {

StatusOr<std::optional<int>> localRankFromEnv(
    const std::function<const char*(const char*)>& getenv) {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"}) {
    const char* v = getenv(var);
    if (!v) continue;
    std::string s(v);
    bool digits = !s.empty() && s.size() <= 9;
    for (char c : s) digits = digits && c >= '0' && c <= '9';
    if (!digits)
      return Status::error(std::string(var) + "='" + s + "': expected a non-negative integer");
    return std::optional<int>(std::atoi(s.c_str()));
  }
  return std::optional<int>();
}

}  // namespace tessera::comm
