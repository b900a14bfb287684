// The model zoo: forward graphs ending in a scalar loss, built in code, with symbolic batch (B)
// and sequence (S) dims. Small models come with initialized weights (module parameters); the
// named planning configurations (GPT-3 family, Megatron-LM SC'21 Table 1) are graphs only.
//
// Conventions every zoo model follows, so `tessera train` can feed any of them: the function is
// `@main`; its data arguments are `%tokens: i64[B,S]` and `%targets: i64[B,S]` for language
// models (`%x`, `%labels` for the MLP); every other argument is bound to the module parameter of
// the same name; result 0 is the scalar f32 loss.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/Module.h"

namespace tessera::frontend {

struct ZooModelInfo {
  std::string name;
  std::string description;
  std::map<std::string, std::string> defaults;  // option -> default value, for --help
};

std::vector<ZooModelInfo> zooModels();

// `options` are `--key=value` flags (layers, hidden, heads, seq, vocab, ffn, ...); an unknown
// key or a bad value is an error naming the flag.
StatusOr<std::unique_ptr<ir::Module>> buildZooModel(const std::string& name,
                                                    const std::map<std::string, std::string>& options);

}  // namespace tessera::frontend
