// The zoo's model builders and their configurations, behind the public frontend/Zoo.h. Each
// builder takes a validated configuration; ZooRegistry.cpp turns `--key=value` options into one.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frontend/zoo/ZooOptions.h"
#include "ir/Module.h"

namespace tessera::frontend::zoo {

struct MlpConfig {
  int64_t in = 16, hidden = 64, classes = 10, layers = 2;
  uint64_t seed = 0;
  bool init = true;  // materialize initial values
};

// Mixture-of-experts layer (MoeLayer.h describes the routing).
struct MoeConfig {
  int64_t experts = 4;
  int64_t topK = 1;
  int64_t groupSize = 8;  // tokens per routing group; the capacity is per group
  double capacityFactor = 1.25;
  double auxLossCoef = 1e-2;
  double zLossCoef = 0;
};

struct GptConfig {
  std::string name = "gpt";  // the module's name
  int64_t layers = 2, hidden = 64, heads = 4, seq = 64, vocab = 256, ffn = 256;
  bool tied = true;
  uint64_t seed = 0;
  bool init = true;
  int64_t moeEvery = 0;  // 0: no MoE; k: the MLP of every k-th block (k-1, 2k-1, ...) is MoE
  MoeConfig moe;
};

StatusOr<std::unique_ptr<ir::Module>> buildMlp(const MlpConfig& c);
StatusOr<std::unique_ptr<ir::Module>> buildGpt(const GptConfig& c);

// The named planning configurations (GPT-3 family, Megatron-LM SC'21 Table 1).
struct NamedConfig {
  std::string name;
  std::string description;
  int64_t layers, hidden, heads, seq, vocab;
};
const std::vector<NamedConfig>& namedConfigs();

}  // namespace tessera::frontend::zoo
