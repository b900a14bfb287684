// The zoo's public entry points (frontend/Zoo.h): the list of models with their options and
// defaults, and buildZooModel, which validates `--key=value` options into a configuration and
// calls the model's builder. Every option error names its flag.
#include <functional>

#include "frontend/Zoo.h"
#include "frontend/zoo/MoeLayer.h"
#include "frontend/zoo/ZooModels.h"
#include "frontend/zoo/ZooOptions.h"

namespace tessera::frontend {

using zoo::GptConfig;
using zoo::MlpConfig;
using zoo::ZooOptions;

namespace {

// More initial values than this would take gigabytes as the interpreter's doubles; such sizes
// are for planning (--init=false).
constexpr int64_t kMaxMaterializedParams = int64_t{1} << 27;
constexpr int64_t kMaxSeed = (int64_t{1} << 32) - 1;

using Options = std::map<std::string, std::string>;

Options gptDefaults() {
  return {{"layers", "2"}, {"hidden", "64"},   {"heads", "4"},   {"seq", "64"}, {"vocab", "256"},
          {"ffn", "4*hidden"}, {"tied", "true"}, {"seed", "0"}, {"init", "true"}};
}

Options moeDefaults() {
  Options o = gptDefaults();
  o.insert({{"moe_every", "2"},
            {"experts", "4"},
            {"top_k", "1"},
            {"group_size", "8"},
            {"capacity_factor", "1.25"},
            {"aux_loss_coef", "0.01"},
            {"z_loss_coef", "0"}});
  return o;
}

Options namedDefaults(const zoo::NamedConfig& n) {
  return {{"layers", std::to_string(n.layers)}, {"hidden", std::to_string(n.hidden)},
          {"heads", std::to_string(n.heads)},   {"seq", std::to_string(n.seq)},
          {"vocab", std::to_string(n.vocab)},   {"ffn", "4*hidden"},
          {"tied", "true"}};
}

Options mlpDefaults() {
  return {{"in", "16"},  {"hidden", "64"}, {"classes", "10"},
          {"layers", "2"}, {"seed", "0"},    {"init", "true"}};
}

// The sizes shared by gpt, moe-gpt and the named configurations.
Status readGpt(const ZooOptions& o, GptConfig& c, bool graphOnly) {
  TRY_ASSIGN(c.layers, o.integer("layers", 1, 1024));
  TRY_ASSIGN(c.hidden, o.integer("hidden", 1, int64_t{1} << 20));
  TRY_ASSIGN(c.heads, o.integer("heads", 1, int64_t{1} << 20));
  TRY_ASSIGN(c.seq, o.integer("seq", 1, int64_t{1} << 20));
  TRY_ASSIGN(c.vocab, o.integer("vocab", 1, int64_t{1} << 24));
  if (c.hidden % c.heads != 0)
    return Status::error("--heads: " + std::to_string(c.heads) + " heads do not divide --hidden=" +
                         std::to_string(c.hidden));
  c.ffn = 4 * c.hidden;
  if (o.given("ffn")) {
    TRY_ASSIGN(c.ffn, o.integer("ffn", 1, int64_t{1} << 22));
  }
  TRY_ASSIGN(c.tied, o.boolean("tied"));
  if (graphOnly) {
    c.init = false;
    return Status::ok();
  }
  TRY_ASSIGN(int64_t seed, o.integer("seed", 0, kMaxSeed));
  c.seed = static_cast<uint64_t>(seed);
  TRY_ASSIGN(c.init, o.boolean("init"));
  return Status::ok();
}

Status readMoe(const ZooOptions& o, GptConfig& c) {
  TRY_ASSIGN(c.moeEvery, o.integer("moe_every", 1, 1024));
  TRY_ASSIGN(c.moe.experts, o.integer("experts", 1, 1024));
  TRY_ASSIGN(c.moe.topK, o.integer("top_k", 1, 2));
  TRY_ASSIGN(c.moe.groupSize, o.integer("group_size", 1, int64_t{1} << 16));
  TRY_ASSIGN(c.moe.capacityFactor, o.real("capacity_factor", 1e-6, 1e3));
  TRY_ASSIGN(c.moe.auxLossCoef, o.real("aux_loss_coef", 0, 1e3));
  TRY_ASSIGN(c.moe.zLossCoef, o.real("z_loss_coef", 0, 1e3));
  if (c.moe.topK > c.moe.experts)
    return Status::error("--top_k: " + std::to_string(c.moe.topK) + " exceeds --experts=" +
                         std::to_string(c.moe.experts));
  if (c.moeEvery > c.layers)
    return Status::error("--moe_every: " + std::to_string(c.moeEvery) +
                         " exceeds --layers=" + std::to_string(c.layers) +
                         ", so no block would be a mixture of experts");
  if (c.seq % c.moe.groupSize != 0)
    return Status::error("--group_size: " + std::to_string(c.moe.groupSize) +
                         " must divide --seq=" + std::to_string(c.seq) +
                         " (sequences are routed in groups of that many tokens)");
  return Status::ok();
}

int64_t paramElements(const ir::Module& m) {
  int64_t n = 0;
  for (const ir::Parameter& p : m.params) n += p.type.numElements().constant().value_or(0);
  return n;
}

// Builds once without initial values to check the size, then for real.
template <typename Config, typename Build>
StatusOr<std::unique_ptr<ir::Module>> buildChecked(Config c, Build build) {
  if (!c.init) return build(c);
  Config probe = c;
  probe.init = false;
  TRY_ASSIGN(auto graph, build(probe));
  int64_t n = paramElements(*graph);
  if (n > kMaxMaterializedParams)
    return Status::error("--init: the model has " + std::to_string(n) +
                         " parameters, too many to materialize initial values for (at most " +
                         std::to_string(kMaxMaterializedParams) +
                         "); use --init=false for a graph only");
  return build(c);
}

// One zoo entry: what --list shows and how options become a module.
struct Entry {
  ZooModelInfo info;
  std::function<StatusOr<std::unique_ptr<ir::Module>>(const ZooOptions&)> build;
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> all = [] {
    std::vector<Entry> v;
    v.push_back({{"mlp", "GELU MLP classifier: %x f32[B,in], %labels i64[B], cross-entropy",
                  mlpDefaults()},
                 [](const ZooOptions& o) -> StatusOr<std::unique_ptr<ir::Module>> {
                   MlpConfig c;
                   TRY_ASSIGN(c.in, o.integer("in", 1, int64_t{1} << 20));
                   TRY_ASSIGN(c.hidden, o.integer("hidden", 1, int64_t{1} << 20));
                   TRY_ASSIGN(c.classes, o.integer("classes", 1, int64_t{1} << 24));
                   TRY_ASSIGN(c.layers, o.integer("layers", 0, 1024));
                   TRY_ASSIGN(int64_t seed, o.integer("seed", 0, kMaxSeed));
                   c.seed = static_cast<uint64_t>(seed);
                   TRY_ASSIGN(c.init, o.boolean("init"));
                   return buildChecked(c, zoo::buildMlp);
                 }});
    v.push_back({{"gpt",
                  "GPT (pre-LayerNorm, causal attention, GELU MLP), %tokens/%targets i64[B,S], "
                  "token cross-entropy",
                  gptDefaults()},
                 [](const ZooOptions& o) -> StatusOr<std::unique_ptr<ir::Module>> {
                   GptConfig c;
                   TRY(readGpt(o, c, false));
                   return buildChecked(c, zoo::buildGpt);
                 }});
    v.push_back({{"moe-gpt",
                  "GPT whose every moe_every-th MLP is a top-k mixture of experts with capacity "
                  "(per routing group of group_size tokens) and Switch/z auxiliary losses",
                  moeDefaults()},
                 [](const ZooOptions& o) -> StatusOr<std::unique_ptr<ir::Module>> {
                   GptConfig c;
                   c.name = "moe-gpt";
                   TRY(readGpt(o, c, false));
                   TRY(readMoe(o, c));
                   return buildChecked(c, zoo::buildGpt);
                 }});
    for (const zoo::NamedConfig& n : zoo::namedConfigs()) {
      v.push_back({{n.name, n.description, namedDefaults(n)},
                   [name = n.name](const ZooOptions& o) -> StatusOr<std::unique_ptr<ir::Module>> {
                     GptConfig c;
                     c.name = name;
                     TRY(readGpt(o, c, true));
                     return zoo::buildGpt(c);
                   }});
    }
    return v;
  }();
  return all;
}

}  // namespace

std::vector<ZooModelInfo> zooModels() {
  std::vector<ZooModelInfo> out;
  for (const Entry& e : entries()) out.push_back(e.info);
  return out;
}

StatusOr<std::unique_ptr<ir::Module>> buildZooModel(
    const std::string& name, const std::map<std::string, std::string>& options) {
  for (const Entry& e : entries()) {
    if (e.info.name != name) continue;
    TRY_ASSIGN(ZooOptions o, ZooOptions::make(name, options, e.info.defaults));
    return e.build(o);
  }
  std::string names;
  for (const Entry& e : entries()) names += (names.empty() ? "" : ", ") + e.info.name;
  return Status::error("unknown zoo model '" + name + "' (models: " + names + ")");
}

}  // namespace tessera::frontend
