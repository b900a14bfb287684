// The named planning configurations: GPT shapes from the literature, built as graphs only (no
// initial values), so a planner can cost the real sizes without materializing the weights.
//
// GPT-3: Brown et al. 2020, Table 2.1 (n_layers, d_model, n_heads), context 2048, the GPT-2 BPE
// vocabulary of 50257, tied embeddings. Two rows of that table are inconsistent with
// d_head = d_model / n_heads and are corrected as everyone reproducing them does:
//   - GPT-3 XL (1.3B) lists 24 heads of d_head 128 for d_model 2048; we use 16 heads of 128.
//   - GPT-3 13B lists d_model 5140 (not divisible by its 40 heads); we use 5120 = 40 * 128.
// Neither changes the parameter count by more than 1%.
// Megatron-LM: Narayanan et al. SC'21, Table 1 (layers, hidden, heads), sequence 2048, vocabulary
// 51200 (see /work/shared/REFERENCE.md). The MLP width is 4 * hidden for every model.
#include <cctype>

#include "frontend/zoo/ZooModels.h"

namespace tessera::frontend::zoo {

namespace {
std::string upper(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}
}  // namespace

const std::vector<NamedConfig>& namedConfigs() {
  static const std::vector<NamedConfig> configs = [] {
    std::vector<NamedConfig> v;
    auto gpt3 = [&](std::string size, int64_t l, int64_t h, int64_t a) {
      v.push_back({"gpt3-" + size,
                   "GPT-3 " + upper(size) + " (Brown et al. 2020, Table 2.1), graph only", l, h,
                   a, 2048, 50257});
    };
    gpt3("125m", 12, 768, 12);
    gpt3("350m", 24, 1024, 16);
    gpt3("760m", 24, 1536, 16);
    gpt3("1.3b", 24, 2048, 16);
    gpt3("2.7b", 32, 2560, 32);
    gpt3("6.7b", 32, 4096, 32);
    gpt3("13b", 40, 5120, 40);
    gpt3("175b", 96, 12288, 96);
    auto megatron = [&](std::string size, int64_t l, int64_t h, int64_t a) {
      v.push_back({"megatron-" + size,
                   "Megatron-LM " + upper(size) + " (Narayanan et al. SC'21, Table 1), graph only",
                   l, h, a, 2048, 51200});
    };
    megatron("1.7b", 24, 2304, 24);
    megatron("3.6b", 30, 3072, 32);
    megatron("7.5b", 36, 4096, 32);
    megatron("18b", 40, 6144, 48);
    megatron("39b", 48, 8192, 64);
    megatron("76b", 60, 10240, 80);
    megatron("145b", 80, 12288, 96);
    megatron("310b", 96, 16384, 128);
    megatron("530b", 105, 20480, 128);
    megatron("1t", 128, 25600, 160);
    return v;
  }();
  return configs;
}

}  // namespace tessera::frontend::zoo
