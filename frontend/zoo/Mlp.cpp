// The `mlp` zoo model: a GELU multi-layer perceptron classifier with a cross-entropy loss.
//
//   %x: f32[B, in], %labels: i64[B]
//   h = x; `layers` times: h = gelu(h @ l<i>.w + l<i>.b)   (in -> hidden, then hidden -> hidden)
//   logits = h @ out.w + out.b; loss = cross_entropy(logits, labels)
// Weights start normal(0, 1/sqrt(fan_in)) (LeCun normal, which keeps the activations' scale
// through the layers), biases 0.
#include <cmath>

#include "frontend/zoo/GraphBuilder.h"
#include "frontend/zoo/ZooModels.h"

namespace tessera::frontend::zoo {

using ir::Dim;
using ir::DType;
using ir::OpKind;
using ir::Value;

StatusOr<std::unique_ptr<ir::Module>> buildMlp(const MlpConfig& c) {
  auto m = std::make_unique<ir::Module>("mlp");
  const Dim B = Dim::symbol("B");
  m->symbols.push_back(ir::SymbolDecl{"B", 1, {}});
  ir::Function* f = m->addFunction("main");
  GraphBuilder g(*m, *f, "zoo:mlp", c.init ? std::optional<uint64_t>(c.seed) : std::nullopt);

  Value* h = g.input("x", {DType::F32, {B, c.in}});
  Value* labels = g.input("labels", {DType::I64, {B}});
  auto lecun = [](int64_t fanIn) {
    return ParamInit::normal(1.0 / std::sqrt(static_cast<double>(fanIn)));
  };
  int64_t width = c.in;
  for (int64_t i = 0; i < c.layers; ++i) {
    std::string p = "l" + std::to_string(i);
    h = g.named(g.op(OpKind::Gelu, {g.linear(h, p, width, c.hidden, lecun(width))}), p + ".out");
    width = c.hidden;
  }
  Value* logits = g.named(g.linear(h, "out", width, c.classes, lecun(width)), "logits");
  Value* loss = g.named(g.op(OpKind::CrossEntropy, {logits, labels}), "loss");
  TRY(g.status());
  f->setResults({loss});
  return m;
}

}  // namespace tessera::frontend::zoo
