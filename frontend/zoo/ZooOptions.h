// The `--key=value` options of a zoo model: checked against the keys the model declares, and
// read as typed values. Every error names the flag (`--layers: expected a positive integer, got
// 'x'`), so `tessera zoo` can print it as a usage error.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ir/Status.h"

namespace tessera::frontend::zoo {

class ZooOptions {
 public:
  // `defaults` lists every key the model accepts (its value is shown by `tessera zoo --list`);
  // a key of `given` not among them is an error naming it and the accepted keys.
  static StatusOr<ZooOptions> make(const std::string& model,
                                   const std::map<std::string, std::string>& given,
                                   const std::map<std::string, std::string>& defaults);

  bool given(const std::string& key) const { return given_.count(key) != 0; }
  // The given value, else the default, as an integer in [lo, hi].
  StatusOr<int64_t> integer(const std::string& key, int64_t lo, int64_t hi) const;
  // As a finite real number in [lo, hi].
  StatusOr<double> real(const std::string& key, double lo, double hi) const;
  // `true` or `false`.
  StatusOr<bool> boolean(const std::string& key) const;

 private:
  const std::string& raw(const std::string& key) const;

  std::map<std::string, std::string> given_;
  std::map<std::string, std::string> defaults_;
};

}  // namespace tessera::frontend::zoo
