// The mixture-of-experts layer; the routing rules are in MoeLayer.h.
#include "frontend/zoo/MoeLayer.h"

#include <cmath>

namespace tessera::frontend::zoo {

using ir::Dim;
using ir::DType;
using ir::OpKind;
using ir::Value;

int64_t moeCapacity(const MoeConfig& c) {
  // A small epsilon so that an exact product (8 * 1 * 1.25 / 4 = 2.5 -> 3, 4 * 2 * 1.0 / 2 = 4)
  // is not pushed up by floating-point noise.
  double exact = static_cast<double>(c.groupSize * c.topK) * c.capacityFactor /
                 static_cast<double>(c.experts);
  int64_t cap = static_cast<int64_t>(std::ceil(exact - 1e-9));
  return cap < 1 ? 1 : cap;
}

MoeOutput moeLayer(GraphBuilder& g, Value* x, const MoeConfig& c, int64_t hidden, int64_t ffn,
                   const std::string& prefix, double projStd) {
  const Dim B = Dim::symbol("B"), S = Dim::symbol("S");
  const int64_t E = c.experts, K = c.topK, G = c.groupSize, H = hidden, F = ffn;
  const int64_t C = moeCapacity(c);
  const Dim n = (B * S).divide(G);  // routing groups
  const Dim KG = Dim(K * G);
  auto f32 = [](ir::Shape s) { return ir::TensorType{DType::F32, std::move(s)}; };

  Value* xg = g.reshape(x, {n, G, H});
  Value* logits = g.matmul(xg, g.param(prefix + ".router.w", {H, E}, ParamInit::normal(0.02)));
  Value* probs = g.op(OpKind::Softmax, {logits}, {{"axis", int64_t{-1}}});
  std::vector<Value*> top = g.ops(OpKind::TopK, {probs}, {{"k", K}});
  Value* gate = top.empty() ? nullptr : top[0];            // [n, G, K]
  Value* expertIdx = top.empty() ? nullptr : top[1];       // [n, G, K] i64
  if (K > 1) gate = g.op(OpKind::Div, {gate, g.reduce(OpKind::ReduceSum, gate, {2}, true)});

  // One-hot assignments in priority order: [n, K, G, E] -> [n, K*G, E].
  Value* assign = g.op(OpKind::OneHot, {expertIdx}, {{"depth", E}, {"dtype", DType::F32}});
  assign = g.reshape(g.transpose(assign, {0, 2, 1, 3}), {n, KG, E});
  Value* before = g.op(OpKind::Cumsum, {assign}, {{"axis", int64_t{1}}, {"exclusive", true}});
  Value* position = g.reduce(OpKind::ReduceSum, g.mul(before, assign), {2});  // [n, K*G]
  // slot[a, c] = (position[a] == c): all false for a dropped assignment (position >= C).
  Value* slot = g.op(OpKind::Compare, {g.reshape(position, {n, KG, 1}), g.iota(f32({C}), 0)},
                     {{"dir", ir::makeEnum(ir::kCompareDirEnum, ir::CompareDir::Eq)}});
  slot = g.cast(slot, DType::F32);                                       // [n, K*G, C]
  Value* placed = g.mul(g.reshape(assign, {n, KG, E, 1}), g.reshape(slot, {n, KG, 1, C}));
  Value* gateFlat = g.reshape(g.transpose(gate, {0, 2, 1}), {n, KG, 1, 1});
  // A token's K choices are distinct experts, so summing over the choices keeps 0/1 entries.
  Value* dispatch = g.reduce(OpKind::ReduceSum, g.reshape(placed, {n, K, G, E, C}), {1});
  Value* combine =
      g.reduce(OpKind::ReduceSum, g.reshape(g.mul(placed, gateFlat), {n, K, G, E, C}), {1});
  g.named(dispatch, prefix + ".dispatch");
  g.named(combine, prefix + ".combine");

  // Experts: [n, G, E, C] x [n, G, H] -> [n, E, C, H] -> [E, n*C, H].
  Value* xe = g.dot(dispatch, xg, {0}, {0}, {1}, {1});
  xe = g.reshape(g.transpose(xe, {1, 0, 2, 3}), {E, n * C, H});
  Value* fcB = g.reshape(g.param(prefix + ".fc.b", {E, F}, ParamInit::zeros()), {E, 1, F});
  Value* h = g.add(g.matmul(xe, g.param(prefix + ".fc.w", {E, H, F}, ParamInit::normal(0.02))),
                   fcB);
  h = g.op(OpKind::Gelu, {h});
  Value* projB = g.reshape(g.param(prefix + ".proj.b", {E, H}, ParamInit::zeros()), {E, 1, H});
  Value* ye = g.add(
      g.matmul(h, g.param(prefix + ".proj.w", {E, F, H}, ParamInit::normal(projStd))), projB);
  ye = g.transpose(g.reshape(ye, {E, n, C, H}), {1, 0, 2, 3});  // [n, E, C, H]
  Value* y = g.dot(combine, ye, {0}, {0}, {2, 3}, {1, 2});      // [n, G, H]

  MoeOutput out;
  out.y = g.reshape(y, {B, S, H});

  if (c.auxLossCoef > 0) {
    Value* top1 = g.op(OpKind::Argmax, {probs}, {{"axis", int64_t{-1}}});
    Value* f = g.reduce(OpKind::ReduceMean,
                        g.op(OpKind::OneHot, {top1}, {{"depth", E}, {"dtype", DType::F32}}),
                        {0, 1});
    Value* p = g.reduce(OpKind::ReduceMean, probs, {0, 1});
    Value* balance = g.reduce(OpKind::ReduceSum, g.mul(f, p), {0});
    out.aux = g.named(g.mul(balance, g.scalar(c.auxLossCoef * static_cast<double>(E))),
                      prefix + ".aux_loss");
  }
  if (c.zLossCoef > 0) {
    // logsumexp(l) = l_j - log_softmax(l)_j for every j; the mean over j is the stable form.
    Value* logProbs = g.op(OpKind::LogSoftmax, {logits}, {{"axis", int64_t{-1}}});
    Value* lse = g.reduce(OpKind::ReduceMean, g.sub(logits, logProbs), {2});
    Value* z = g.mul(g.reduce(OpKind::ReduceMean, g.mul(lse, lse), {0, 1}),
                     g.scalar(c.zLossCoef));
    g.named(z, prefix + ".z_loss");
    out.aux = out.aux ? g.add(out.aux, z) : z;
  }
  return out;
}

}  // namespace tessera::frontend::zoo
