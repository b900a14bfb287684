// Sampling character-level batches from a file (see CharData.h).
#include "launcher/CharData.h"

#include "launcher/FileUtil.h"

namespace tessera::launcher {

StatusOr<CharCorpus> CharCorpus::load(const std::string& path, int64_t seq) {
  TRY_ASSIGN(std::string bytes, readFile(path));
  if (static_cast<int64_t>(bytes.size()) < seq + 1)
    return Status::error(Location{path, 0, 0},
                         "the corpus has " + std::to_string(bytes.size()) +
                             " bytes; windows of --seq " + std::to_string(seq) +
                             " tokens need at least " + std::to_string(seq + 1));
  CharCorpus c;
  c.bytes_ = std::move(bytes);
  return c;
}

CharBatch CharCorpus::sample(int64_t batch, int64_t seq, std::mt19937_64& rng) const {
  const uint64_t offsets = static_cast<uint64_t>(size() - seq);  // window starts in [0, offsets)
  CharBatch b{ir::Tensor(ir::DType::I64, {batch, seq}), ir::Tensor(ir::DType::I64, {batch, seq})};
  for (int64_t i = 0; i < batch; ++i) {
    const int64_t start = static_cast<int64_t>(rng() % offsets);
    for (int64_t j = 0; j < seq; ++j) {
      b.tokens.set(i * seq + j, static_cast<unsigned char>(bytes_[start + j]));
      b.targets.set(i * seq + j, static_cast<unsigned char>(bytes_[start + j + 1]));
    }
  }
  return b;
}

}  // namespace tessera::launcher
