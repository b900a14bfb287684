// The mixture-of-experts layer on tiny hand-checkable cases: the router is the identity, so the
// router logits are the input rows themselves and every routing decision below is worked out by
// hand from them; the expert MLPs are evaluated by a plain loop in this file; the auxiliary
// losses by their formulas (Switch: α·E·Σ f_i P_i; z-loss: β·mean(logsumexp²)).
#include <algorithm>
#include <cmath>

#include "frontend/zoo/MoeLayer.h"
#include "ir/Interpreter.h"
#include "ir/Verifier.h"
#include "tests/unit/zoo/ZooTestUtil.h"

namespace tessera::frontend::testing {
namespace {

using ir::DType;
using ir::Tensor;
using Vec = std::vector<double>;

constexpr int64_t kH = 3, kE = 3, kF = 2, kTokens = 4;

// Token rows (= router logits, one batch of 4 tokens, one routing group).
const std::vector<Vec> kX = {{3, 2, 0}, {2, 0, 1}, {3, 0, 2}, {0, 2, 1}};

// Expert weights, arbitrary but distinct per expert; biases non-zero so a dropped token (output
// exactly 0) differs from a token routed to an expert with zero input.
double w1(int e, int i, int j) { return 0.1 * (e + 1) * (i - j) + 0.05 * (j + 1) - 0.02 * e; }
double b1(int e, int j) { return 0.01 * (e + 1) * (j - 0.5); }
double w2(int e, int j, int h) { return 0.07 * (h + 1) - 0.04 * (e + j) + 0.01 * e * h; }
double b2(int e, int h) { return 0.02 * (h + 1) * (e + 1); }

Vec expert(int e, const Vec& x) {
  Vec hid(kF), out(kH);
  for (int j = 0; j < kF; ++j) {
    double a = b1(e, j);
    for (int i = 0; i < kH; ++i) a += x[i] * w1(e, i, j);
    hid[j] = 0.5 * a * (1 + std::erf(a / std::sqrt(2.0)));
  }
  for (int h = 0; h < kH; ++h) {
    out[h] = b2(e, h);
    for (int j = 0; j < kF; ++j) out[h] += hid[j] * w2(e, j, h);
  }
  return out;
}

Vec softmax(const Vec& l) {
  double mx = *std::max_element(l.begin(), l.end()), s = 0;
  Vec p;
  for (double v : l) s += std::exp(v - mx);
  for (double v : l) p.push_back(std::exp(v - mx) / s);
  return p;
}

Tensor make(std::vector<int64_t> shape, double (*f)(int, int, int)) {
  Tensor t(DType::F32, shape);
  int64_t i = 0;
  for (int a = 0; a < shape[0]; ++a)
    for (int b = 0; b < shape[1]; ++b)
      for (int c = 0; c < shape[2]; ++c) t.set(i++, f(a, b, c));
  return t;
}
Tensor make2(std::vector<int64_t> shape, double (*f)(int, int)) {
  Tensor t(DType::F32, shape);
  int64_t i = 0;
  for (int a = 0; a < shape[0]; ++a)
    for (int b = 0; b < shape[1]; ++b) t.set(i++, f(a, b));
  return t;
}

struct MoeRun {
  std::vector<Vec> y;  // per token
  double aux = 0;
};

MoeRun runMoe(const zoo::MoeConfig& c) {
  ir::Module m("moe");
  m.symbols.push_back({"B", 1, {}});
  m.symbols.push_back({"S", c.groupSize, {}});
  ir::Function* f = m.addFunction("main");
  zoo::GraphBuilder g(m, *f, "moe-test", std::nullopt);
  ir::Value* x =
      g.input("x", {DType::F32, {ir::Dim::symbol("B"), ir::Dim::symbol("S"), kH}});
  zoo::MoeOutput o = zoo::moeLayer(g, x, c, kH, kF, "moe", 0.02);
  EXPECT_TRUE(g.status().isOk()) << g.status().message();
  EXPECT_NE(o.aux, nullptr);
  if (!g.status().isOk() || !o.aux) return {};
  f->setResults({o.y, o.aux});
  Status v = ir::verifyModule(m);
  EXPECT_TRUE(v.isOk()) << v.message();

  Vec xs;
  for (const Vec& r : kX) xs.insert(xs.end(), r.begin(), r.end());
  Tensor router(DType::F32, {kH, kE});
  for (int i = 0; i < kH; ++i) router.set(i * kE + i, 1.0);
  std::map<std::string, Tensor> in{
      {"x", Tensor(DType::F32, {1, kTokens, kH}, xs)},
      {"moe.router.w", router},
      {"moe.fc.w", make({kE, kH, kF}, w1)},
      {"moe.fc.b", make2({kE, kF}, b1)},
      {"moe.proj.w", make({kE, kF, kH}, w2)},
      {"moe.proj.b", make2({kE, kH}, b2)}};
  auto r = ir::interpret(*f, in);
  EXPECT_TRUE(r.isOk()) << r.status().message();
  if (!r.isOk()) return {};
  MoeRun out;
  for (int t = 0; t < kTokens; ++t)
    out.y.push_back(Vec(r->outputs[0].data().begin() + t * kH,
                        r->outputs[0].data().begin() + (t + 1) * kH));
  out.aux = r->outputs[1][0];
  return out;
}

// sum_k w_k * expert(e_k, x)
Vec mix(const Vec& x, std::vector<std::pair<int, double>> terms) {
  Vec out(kH, 0.0);
  for (auto [e, w] : terms) {
    Vec y = expert(e, x);
    for (int h = 0; h < kH; ++h) out[h] += w * y[h];
  }
  return out;
}

void expectRow(const Vec& got, const Vec& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t h = 0; h < got.size(); ++h)
    EXPECT_NEAR(got[h], want[h], 1e-6) << what << " [" << h << "]";
}

// Switch load balancing over the 4 tokens: top-1 experts are e0, e0, e0, e1.
double switchLoss(double alpha) {
  Vec f = {3.0 / 4, 1.0 / 4, 0.0}, P(kE, 0.0);
  for (const Vec& x : kX) {
    Vec p = softmax(x);
    for (int e = 0; e < kE; ++e) P[e] += p[e] / kTokens;
  }
  double s = 0;
  for (int e = 0; e < kE; ++e) s += f[e] * P[e];
  return alpha * kE * s;
}

TEST(MoeRouting, CapacityFor) {
  zoo::MoeConfig c;
  c.groupSize = 8, c.topK = 1, c.experts = 4, c.capacityFactor = 1.25;
  EXPECT_EQ(zoo::moeCapacity(c), 3);  // ceil(2.5)
  c.groupSize = 4, c.topK = 2, c.experts = 3, c.capacityFactor = 0.75;
  EXPECT_EQ(zoo::moeCapacity(c), 2);  // exactly 2
  c.capacityFactor = 0.1;
  EXPECT_EQ(zoo::moeCapacity(c), 1);  // never 0
}

// Top-1, capacity ceil(4 * 1 * 0.75 / 3) = 1. Tokens 0, 1, 2 choose e0 and token 3 chooses e1:
// e0 keeps token 0 only (the earliest), tokens 1 and 2 are dropped (output exactly 0).
TEST(MoeRouting, Top1DropsByPosition) {
  zoo::MoeConfig c;
  c.experts = kE, c.topK = 1, c.groupSize = kTokens, c.capacityFactor = 0.75;
  c.auxLossCoef = 0.01, c.zLossCoef = 0;
  MoeRun r = runMoe(c);
  ASSERT_EQ(r.y.size(), 4u);
  expectRow(r.y[0], mix(kX[0], {{0, softmax(kX[0])[0]}}), "token 0");
  expectRow(r.y[1], {0, 0, 0}, "token 1 (dropped)");
  expectRow(r.y[2], {0, 0, 0}, "token 2 (dropped)");
  for (int t : {1, 2})
    for (double v : r.y[t]) EXPECT_EQ(v, 0.0) << "token " << t;
  expectRow(r.y[3], mix(kX[3], {{1, softmax(kX[3])[1]}}), "token 3");
  EXPECT_NEAR(r.aux, switchLoss(0.01), 1e-7);
}

// Top-2, capacity ceil(4 * 2 * 0.75 / 3) = 2. Choices (first, second) by the logits:
//   t0 (e0, e1), t1 (e0, e2), t2 (e0, e2), t3 (e1, e2).
// Slots in priority order, first choices then second choices:
//   e0: t0 -> 0, t1 -> 1, t2 -> 2 dropped;   e1: t3 -> 0, t0 -> 1;   e2: t1 -> 0, t2 -> 1,
//   t3 -> 2 dropped.
// So t0 uses e0 and e1, t1 e0 and e2, t2 only its second choice e2, t3 only its first choice e1,
// each weighted by its gate renormalized over its two choices (not over the kept ones).
TEST(MoeRouting, Top2GateCombineAndSecondChoiceDropping) {
  zoo::MoeConfig c;
  c.experts = kE, c.topK = 2, c.groupSize = kTokens, c.capacityFactor = 0.75;
  c.auxLossCoef = 0.01, c.zLossCoef = 1e-3;
  MoeRun r = runMoe(c);
  ASSERT_EQ(r.y.size(), 4u);
  auto gate = [](int t, int e, int other) {
    Vec p = softmax(kX[t]);
    return p[e] / (p[e] + p[other]);
  };
  expectRow(r.y[0], mix(kX[0], {{0, gate(0, 0, 1)}, {1, gate(0, 1, 0)}}), "token 0");
  expectRow(r.y[1], mix(kX[1], {{0, gate(1, 0, 2)}, {2, gate(1, 2, 0)}}), "token 1");
  expectRow(r.y[2], mix(kX[2], {{2, gate(2, 2, 0)}}), "token 2 (first choice dropped)");
  expectRow(r.y[3], mix(kX[3], {{1, gate(3, 1, 2)}}), "token 3 (second choice dropped)");
  double z = 0;
  for (const Vec& x : kX) {
    double s = 0;
    for (double v : x) s += std::exp(v);
    z += std::log(s) * std::log(s) / kTokens;
  }
  EXPECT_NEAR(r.aux, switchLoss(0.01) + 1e-3 * z, 1e-6);
}

// With room for everyone (capacity 4 * 2 * 2 / 3 -> 6) nothing is dropped.
TEST(MoeRouting, Top2WithoutDropping) {
  zoo::MoeConfig c;
  c.experts = kE, c.topK = 2, c.groupSize = kTokens, c.capacityFactor = 2.0;
  c.auxLossCoef = 0.5, c.zLossCoef = 0;
  MoeRun r = runMoe(c);
  ASSERT_EQ(r.y.size(), 4u);
  const int second[] = {1, 2, 2, 2}, first[] = {0, 0, 0, 1};
  for (int t = 0; t < kTokens; ++t) {
    Vec p = softmax(kX[t]);
    double s = p[first[t]] + p[second[t]];
    expectRow(r.y[t], mix(kX[t], {{first[t], p[first[t]] / s}, {second[t], p[second[t]] / s}}),
              "token " + std::to_string(t));
  }
  EXPECT_NEAR(r.aux, switchLoss(0.5), 1e-6);
}

}  // namespace
}  // namespace tessera::frontend::testing
