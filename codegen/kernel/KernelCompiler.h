// Compiles kernel descriptions to native code for this host (LLVM 16, ORC LLJIT), with an on-disk
// object cache so that a second run compiles nothing.
//
// The host's vector features decide the code (AVX-512 where present, AVX2 otherwise); they are part
// of the cache key, so a cache shared between machines never hands out code a CPU cannot run.
// A corrupt cache entry is detected (checksum) and recompiled; an unwritable cache directory (full
// disk, read-only) is reported once as a warning and the compiler carries on without caching.
// Set TESSERA_KERNEL_DUMP=1 to print each newly compiled kernel's LLVM IR to stderr.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "codegen/kernel/KernelDesc.h"
#include "ir/Status.h"

namespace tessera::codegen {

struct KernelCompilerOptions {
  std::string cacheDir;        // empty: no disk cache. Default chosen by defaultKernelCacheDir().
  std::string cpuOverride;     // for tests: e.g. "x86-64-v3" to force AVX2 code; empty = host
  int optLevel = 2;
};

// $TESSERA_CACHE_DIR, else $XDG_CACHE_HOME/tessera/kernels, else ~/.cache/tessera/kernels.
std::string defaultKernelCacheDir();

struct KernelCompileStats {
  int compiled = 0;      // kernels compiled by LLVM in this compiler's lifetime
  int diskHits = 0;      // kernels loaded from the disk cache
  int memoryHits = 0;    // kernels already loaded in this process
  int corruptCacheEntries = 0;  // cache files that failed their checksum (recompiled, replaced)
  double compileSeconds = 0;
  std::vector<std::string> warnings;  // cache problems (reported once each)
};

class KernelCompiler {
 public:
  static StatusOr<std::unique_ptr<KernelCompiler>> create(const KernelCompilerOptions& o);
  virtual ~KernelCompiler() = default;

  // Compiles (or loads) every kernel; the result has one entry per description, in order.
  // A description that fails validate() or fails to compile gives an error naming the kernel.
  // Not thread-safe: one caller at a time. The functions stay valid for the compiler's lifetime.
  virtual StatusOr<std::vector<KernelFn>> compile(const std::vector<KernelDesc>& kernels) = 0;
  virtual const KernelCompileStats& stats() const = 0;
  virtual std::string targetDescription() const = 0;  // e.g. "znver4 +avx512f"
};

}  // namespace tessera::codegen
