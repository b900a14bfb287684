// `--cluster`'s argument, whichever form it takes: a path to a cluster file (docs/cluster-format.md,
// including the files `bench/cpu_calibrate` writes) or the `NODESxDEVICES:DEVICE` shorthand. One
// function so that `tessera simulate` and `tessera plan --auto` accept exactly the same spellings
// and report the same errors.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "partition/cost/ClusterSpec.h"

namespace tessera::partition::cost {

StatusOr<ClusterSpec> loadCluster(std::string_view arg, std::string_view flag) {
  const std::string where(flag), text(arg);
  if (text.empty()) return Status::error(where + ": empty cluster (expected a file or NODESxDEVICES:DEVICE)");
  std::error_code ec;
  const std::filesystem::path path(text);
  if (std::filesystem::is_regular_file(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::error(where + " '" + text + "': cannot read the file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return parseClusterFile(ss.str(), text);
  }
  if (std::filesystem::exists(path, ec))
    return Status::error(where + " '" + text + "': not a regular file");
  // Not a file: the shorthand, whose errors already name the flag and the bad part. A word with
  // no ':' that looks like a path is more likely a missing file than a bad shorthand.
  if (text.find(':') == std::string::npos &&
      (text.find('/') != std::string::npos || text.find('.') != std::string::npos))
    return Status::error(where + " '" + text +
                         "': no such file (and not a shorthand NODESxDEVICES:DEVICE, e.g. 128x8:a100-80g)");
  return parseClusterShorthand(text, flag);
}

}  // namespace tessera::partition::cost
