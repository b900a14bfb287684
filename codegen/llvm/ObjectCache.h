// The on-disk cache of compiled kernel objects: one file per kernel, named by a hash of everything
// that determines the code (the kernel's canonical text, the target CPU and features, the LLVM
// version, this file format). Each file carries a header with a checksum of the object, so a
// truncated or corrupt file is detected and replaced rather than handed to the linker. Writes go
// to a temporary file renamed into place, so a crash or a concurrent writer never leaves a partial
// file under the final name. Free of LLVM types.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tessera::codegen::llvmgen {

class ObjectCache {
 public:
  // An empty dir disables the cache.
  explicit ObjectCache(std::string dir);

  enum class Lookup { Miss, Hit, Corrupt };
  // On Hit, `object` holds the object file bytes. `key` is the full identity text.
  Lookup load(const std::string& key, std::vector<char>& object) const;
  // Stores the object; on failure (unwritable dir, full disk) returns a one-line reason and
  // disables further writes.
  std::optional<std::string> store(const std::string& key, const std::vector<char>& object);

  bool enabled() const { return !dir_.empty() && writable_; }
  // The file that holds `key` (for tests that corrupt it).
  std::string pathFor(const std::string& key) const;
  // The hex digest used for file and symbol names.
  static std::string digest(const std::string& key);

 private:
  std::string dir_;
  bool writable_ = true;
  bool dirCreated_ = false;
};

}  // namespace tessera::codegen::llvmgen
