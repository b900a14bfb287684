// Character-level training data: the bytes of a text file as tokens (vocabulary 256).
//
// Each step draws B windows of T+1 consecutive bytes at offsets from a seeded generator
// (std::mt19937_64, whose output sequence the C++ standard fixes, reduced modulo the number of
// offsets, so a seed gives the same batches everywhere); tokens are the first T bytes of a
// window and targets the last T, the usual next-character objective.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "ir/Status.h"
#include "ir/Tensor.h"

namespace tessera::launcher {

// The default corpus: present on every Debian system, so the demo needs no download.
inline constexpr const char* kDefaultCorpus = "/usr/share/common-licenses/GPL-3";

struct CharBatch {
  ir::Tensor tokens;   // i64[B,T]
  ir::Tensor targets;  // i64[B,T]
};

class CharCorpus {
 public:
  // Reads `path`; it must hold at least T+1 bytes. Errors name the file.
  static StatusOr<CharCorpus> load(const std::string& path, int64_t seq);

  int64_t size() const { return static_cast<int64_t>(bytes_.size()); }
  CharBatch sample(int64_t batch, int64_t seq, std::mt19937_64& rng) const;

 private:
  std::string bytes_;
};

}  // namespace tessera::launcher
