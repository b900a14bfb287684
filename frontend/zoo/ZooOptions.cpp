// Typed reading of zoo model options; see ZooOptions.h.
#include "frontend/zoo/ZooOptions.h"

#include <cassert>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tessera::frontend::zoo {

StatusOr<ZooOptions> ZooOptions::make(const std::string& model,
                                      const std::map<std::string, std::string>& given,
                                      const std::map<std::string, std::string>& defaults) {
  for (const auto& [key, value] : given) {
    if (defaults.count(key)) continue;
    std::string known;
    for (const auto& [k, v] : defaults) known += (known.empty() ? "--" : ", --") + k;
    return Status::error("--" + key + ": unknown option for model '" + model +
                         "' (options: " + (known.empty() ? "none" : known) + ")");
  }
  ZooOptions o;
  o.given_ = given;
  o.defaults_ = defaults;
  return o;
}

const std::string& ZooOptions::raw(const std::string& key) const {
  auto it = given_.find(key);
  if (it != given_.end()) return it->second;
  auto d = defaults_.find(key);
  assert(d != defaults_.end() && "a model reads only the keys it declares");
  return d->second;
}

StatusOr<int64_t> ZooOptions::integer(const std::string& key, int64_t lo, int64_t hi) const {
  const std::string& s = raw(key);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi)
    return Status::error("--" + key + ": expected an integer in [" + std::to_string(lo) + ", " +
                         std::to_string(hi) + "], got '" + s + "'");
  return v;
}

StatusOr<double> ZooOptions::real(const std::string& key, double lo, double hi) const {
  const std::string& s = raw(key);
  char* end = nullptr;
  errno = 0;
  double v = s.empty() ? NAN : std::strtod(s.c_str(), &end);
  if (s.empty() || errno != 0 || end != s.c_str() + s.size() || !std::isfinite(v) || v < lo ||
      v > hi) {
    char range[96];
    std::snprintf(range, sizeof range, "[%g, %g]", lo, hi);
    return Status::error("--" + key + ": expected a number in " + range + ", got '" + s + "'");
  }
  return v;
}

StatusOr<bool> ZooOptions::boolean(const std::string& key) const {
  const std::string& s = raw(key);
  if (s == "true") return true;
  if (s == "false") return false;
  return Status::error("--" + key + ": expected true or false, got '" + s + "'");
}

}  // namespace tessera::frontend::zoo
