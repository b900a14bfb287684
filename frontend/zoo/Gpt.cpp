// The GPT (GPT-2 style, pre-LayerNorm) forward graph with a token cross-entropy loss, optionally
// with mixture-of-experts MLPs (`moe-gpt`). The same builder makes the named planning
// configurations, without initial values.
//
// Layout, for B sequences of S tokens (both symbolic; S <= seq, the number of positions):
//   x = wte[tokens] + wpe[iota(S)]          gather; positions by gather (not slice) so that the
//                                           gradient is a scatter_add, defined for symbolic S
//   per block l (`h<l>.`):
//     a = ln1(x); qkv = a @ attn.qkv.w [H, 3H] + b; q, k, v = slices of the last dim
//     heads: [B, S, heads, hd] -> [B, heads, S, hd]
//     scores = dot(q, k) over hd with batch (B, heads) / sqrt(hd); causal mask by select with
//     -1e9 (exp underflows to exactly 0, so the future has no influence at all); softmax;
//     ctx = dot(probs, v); merge heads; x += ctx @ attn.proj.w + b
//     m = ln2(x); x += mlp.proj(gelu(mlp.fc(m)))   or the MoE layer (MoeLayer.h)
//   logits = lnf(x) @ wte^T (tied: a dot contracting H with the embedding) or @ head.w
//   loss = cross_entropy(logits [B*S, V], targets [B*S]) (+ the MoE auxiliary losses)
// Initialization as GPT-2: weights normal(0, 0.02), the two output projections of every block
// normal(0, 0.02 / sqrt(2 * layers)), biases 0, LayerNorm scale 1 and bias 0.
#include <cassert>
#include <cmath>

#include "frontend/zoo/GraphBuilder.h"
#include "frontend/zoo/MoeLayer.h"
#include "frontend/zoo/ZooModels.h"

namespace tessera::frontend::zoo {

using ir::Dim;
using ir::DType;
using ir::OpKind;
using ir::Value;

namespace {

struct Block {
  GraphBuilder& g;
  const GptConfig& c;
  Value* mask;  // bool [S, S], true where key <= query
  double projStd;

  Value* attention(Value* x, const std::string& p) {
    const Dim B = Dim::symbol("B"), S = Dim::symbol("S");
    const int64_t H = c.hidden, hd = c.hidden / c.heads;
    Value* a = g.layerNorm(x, p + ".ln1", H);
    Value* qkv = g.linear(a, p + ".attn.qkv", H, 3 * H, ParamInit::normal(0.02));
    auto head = [&](int64_t part) {
      Value* t = g.op(OpKind::Slice, {qkv},
                      {{"start", std::vector<Dim>{0, 0, part * H}},
                       {"limit", std::vector<Dim>{B, S, (part + 1) * H}}});
      return g.transpose(g.reshape(t, {B, S, c.heads, hd}), {0, 2, 1, 3});  // [B, nh, S, hd]
    };
    Value* q = head(0);
    Value* k = head(1);
    Value* v = head(2);
    Value* scores = g.dot(q, k, {0, 1}, {0, 1}, {3}, {3});  // [B, nh, S, S]
    scores = g.mul(scores, g.scalar(1.0 / std::sqrt(static_cast<double>(hd))));
    scores = g.op(OpKind::Select, {mask, scores, g.scalar(-1e9)});
    Value* probs = g.op(OpKind::Softmax, {scores}, {{"axis", int64_t{-1}}});
    Value* ctx = g.dot(probs, v, {0, 1}, {0, 1}, {3}, {2});  // [B, nh, S, hd]
    Value* merged = g.reshape(g.transpose(ctx, {0, 2, 1, 3}), {B, S, H});
    Value* out = g.linear(merged, p + ".attn.proj", H, H, ParamInit::normal(projStd));
    return g.add(x, out);
  }

  // Returns the new residual stream; adds the MoE auxiliary loss to `aux`.
  Value* feedForward(Value* x, const std::string& p, bool moe, Value*& aux) {
    Value* m = g.layerNorm(x, p + ".ln2", c.hidden);
    if (moe) {
      MoeOutput o = moeLayer(g, m, c.moe, c.hidden, c.ffn, p + ".moe", projStd);
      if (o.aux) aux = aux ? g.add(aux, o.aux) : o.aux;
      return g.add(x, o.y);
    }
    Value* h = g.op(OpKind::Gelu, {g.linear(m, p + ".mlp.fc", c.hidden, c.ffn,
                                            ParamInit::normal(0.02))});
    return g.add(x, g.linear(h, p + ".mlp.proj", c.ffn, c.hidden, ParamInit::normal(projStd)));
  }
};

}  // namespace

StatusOr<std::unique_ptr<ir::Module>> buildGpt(const GptConfig& c) {
  assert(c.hidden % c.heads == 0);
  auto m = std::make_unique<ir::Module>(c.name);
  const Dim B = Dim::symbol("B"), S = Dim::symbol("S");
  m->symbols.push_back(ir::SymbolDecl{"B", 1, {}});
  m->symbols.push_back(ir::SymbolDecl{"S", c.moeEvery > 0 ? c.moe.groupSize : 1, {}});
  ir::Function* f = m->addFunction("main");
  GraphBuilder g(*m, *f, "zoo:" + c.name,
                 c.init ? std::optional<uint64_t>(c.seed) : std::nullopt);

  Value* tokens = g.input("tokens", {DType::I64, {B, S}});
  Value* targets = g.input("targets", {DType::I64, {B, S}});
  Value* wte = g.param("wte", {c.vocab, c.hidden}, ParamInit::normal(0.02));
  Value* wpe = g.param("wpe", {c.seq, c.hidden}, ParamInit::normal(0.02));
  Value* tok = g.op(OpKind::Gather, {wte, tokens}, {{"axis", int64_t{0}}});
  Value* positions = g.named(g.iota({DType::I64, {S}}, 0), "positions");
  Value* pos = g.op(OpKind::Gather, {wpe, positions}, {{"axis", int64_t{0}}});
  Value* x = g.named(g.add(tok, pos), "embed");

  Value* mask = g.named(g.op(OpKind::Compare,
                             {g.iota({DType::I64, {S, S}}, 0), g.iota({DType::I64, {S, S}}, 1)},
                             {{"dir", ir::makeEnum(ir::kCompareDirEnum, ir::CompareDir::Ge)}}),
                        "causal");
  Block block{g, c, mask, 0.02 / std::sqrt(2.0 * static_cast<double>(c.layers))};
  Value* aux = nullptr;
  for (int64_t l = 0; l < c.layers; ++l) {
    std::string p = "h" + std::to_string(l);
    x = block.attention(x, p);
    bool moe = c.moeEvery > 0 && (l + 1) % c.moeEvery == 0;
    x = g.named(block.feedForward(x, p, moe, aux), p + ".out");
  }

  Value* hf = g.reshape(g.layerNorm(x, "lnf", c.hidden), {B * S, c.hidden});
  Value* logits = c.tied ? g.dot(hf, wte, {}, {}, {1}, {1})
                         : g.matmul(hf, g.param("head.w", {c.hidden, c.vocab},
                                                ParamInit::normal(0.02)));
  g.named(logits, "logits");
  Value* loss = g.op(OpKind::CrossEntropy, {logits, g.reshape(targets, {B * S})});
  if (aux) {
    g.named(loss, "lm_loss");
    loss = g.add(loss, aux);
  }
  g.named(loss, "loss");
  TRY(g.status());
  f->setResults({loss});
  return m;
}

}  // namespace tessera::frontend::zoo
