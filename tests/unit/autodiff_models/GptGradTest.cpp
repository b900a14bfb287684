// Autodiff of a whole small GPT, checked against finite differences.
//
// The model (built with Function::addOp over symbolic B and S, in f64) has token and position
// embeddings, two pre-LayerNorm blocks of causal multi-head attention and a GELU MLP, a final
// LayerNorm, an LM head tied to the token embedding (a `dot` contracting the hidden dim) and a
// mean cross-entropy with one ignored target. `differentiate` appends the gradient of the loss
// with respect to every weight; for every weight a few random entries are compared with central
// finite differences of the unmodified forward graph. Independently of the numbers, rows of the
// position embedding beyond S are never read, so their gradient must be exactly zero.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/Interpreter.h"
#include "ir/Module.h"
#include "ir/Verifier.h"
#include "passes/autodiff/Autodiff.h"

namespace tessera::passes {
namespace {

using ir::AttrValue;
using ir::Dim;
using ir::DType;
using ir::OpKind;
using ir::Shape;
using ir::Tensor;
using ir::TensorType;
using ir::Value;
using IL = std::vector<int64_t>;
using Attrs = std::vector<std::pair<std::string, AttrValue>>;

constexpr int64_t kVocab = 7, kHidden = 8, kHeads = 2, kHeadDim = 4, kMlp = 12, kMaxSeq = 5;
constexpr int64_t kLayers = 2, kBatch = 2, kSeq = 3;

Dim B() { return Dim::symbol("B"); }
Dim S() { return Dim::symbol("S"); }
TensorType f64(Shape s) { return TensorType{DType::F64, std::move(s)}; }

class Graph {
 public:
  explicit Graph(ir::Function* f) : f_(f) {}
  StatusOr<Value*> op(OpKind k, std::vector<Value*> in, Attrs attrs = {},
                      std::vector<TensorType> declared = {}) {
    TRY_ASSIGN(ir::Op * o, f_->addOp(ir::OpSpec{k, std::move(in), std::move(attrs),
                                                std::move(declared),
                                                Location{"gpt", f_->numOps() + 1, 1}}));
    return o->result();
  }
  Value* param(const std::string& name, Shape shape, DType d = DType::F64) {
    return f_->addArgument(TensorType{d, std::move(shape)}, name);
  }
  StatusOr<Value*> layerNorm(Value* x, const std::string& p) {
    return op(OpKind::LayerNorm,
              {x, param(p + "_scale", {kHidden}), param(p + "_bias", {kHidden})});
  }
  StatusOr<Value*> linear(Value* x, const std::string& name, int64_t in, int64_t out) {
    TRY_ASSIGN(Value * y, op(OpKind::Matmul, {x, param(name + "_w", {in, out})}));
    return op(OpKind::Add, {y, param(name + "_b", {out})});
  }

 private:
  ir::Function* f_;
};

StatusOr<Value*> block(Graph& g, Value* x, Value* mask, int layer) {
  std::string p = "l" + std::to_string(layer);
  TRY_ASSIGN(Value * h, g.layerNorm(x, p + "_ln1"));
  auto heads = [&](const std::string& name) -> StatusOr<Value*> {
    TRY_ASSIGN(Value * y, g.linear(h, p + "_" + name, kHidden, kHidden));
    TRY_ASSIGN(Value * r, g.op(OpKind::Reshape, {y}, {}, {f64({B(), S(), kHeads, kHeadDim})}));
    return g.op(OpKind::Transpose, {r}, {{"perm", IL{0, 2, 1, 3}}});
  };
  TRY_ASSIGN(Value * q, heads("q"));
  TRY_ASSIGN(Value * k, heads("k"));
  TRY_ASSIGN(Value * v, heads("v"));
  TRY_ASSIGN(Value * kt, g.op(OpKind::Transpose, {k}, {{"perm", IL{0, 1, 3, 2}}}));
  TRY_ASSIGN(Value * scores, g.op(OpKind::Matmul, {q, kt}));
  TRY_ASSIGN(Value * scale,
             g.op(OpKind::Full, {}, {{"value", 1.0 / std::sqrt(double(kHeadDim))}}, {f64({})}));
  TRY_ASSIGN(Value * scaled, g.op(OpKind::Mul, {scores, scale}));
  TRY_ASSIGN(Value * masked, g.op(OpKind::Add, {scaled, mask}));
  TRY_ASSIGN(Value * probs, g.op(OpKind::Softmax, {masked}, {{"axis", int64_t{-1}}}));
  TRY_ASSIGN(Value * ctx, g.op(OpKind::Matmul, {probs, v}));
  TRY_ASSIGN(Value * back, g.op(OpKind::Transpose, {ctx}, {{"perm", IL{0, 2, 1, 3}}}));
  TRY_ASSIGN(Value * merged, g.op(OpKind::Reshape, {back}, {}, {f64({B(), S(), kHidden})}));
  TRY_ASSIGN(Value * attn, g.linear(merged, p + "_o", kHidden, kHidden));
  TRY_ASSIGN(Value * x1, g.op(OpKind::Add, {x, attn}));
  TRY_ASSIGN(Value * h2, g.layerNorm(x1, p + "_ln2"));
  TRY_ASSIGN(Value * up, g.linear(h2, p + "_up", kHidden, kMlp));
  TRY_ASSIGN(Value * act, g.op(OpKind::Gelu, {up}));
  TRY_ASSIGN(Value * down, g.linear(act, p + "_down", kMlp, kHidden));
  return g.op(OpKind::Add, {x1, down});
}

// @main(tokens, targets, weights...) -> loss (f64[]).
Status buildGpt(ir::Function* f) {
  Graph g(f);
  Value* tokens = g.param("tokens", {B(), S()}, DType::I64);
  Value* targets = g.param("targets", {B(), S()}, DType::I64);
  Value* wte = g.param("wte", {kVocab, kHidden});
  TRY_ASSIGN(Value * tokEmb, g.op(OpKind::Gather, {wte, tokens}, {{"axis", int64_t{0}}}));
  TRY_ASSIGN(Value * pos, g.op(OpKind::Iota, {}, {{"dim", int64_t{0}}},
                               {TensorType{DType::I64, {S()}}}));
  TRY_ASSIGN(Value * posEmb, g.op(OpKind::Gather, {g.param("wpe", {kMaxSeq, kHidden}), pos},
                                  {{"axis", int64_t{0}}}));
  TRY_ASSIGN(Value * x, g.op(OpKind::Add, {tokEmb, posEmb}));
  TensorType square{DType::I64, {S(), S()}};
  TRY_ASSIGN(Value * row, g.op(OpKind::Iota, {}, {{"dim", int64_t{0}}}, {square}));
  TRY_ASSIGN(Value * col, g.op(OpKind::Iota, {}, {{"dim", int64_t{1}}}, {square}));
  TRY_ASSIGN(Value * visible,
             g.op(OpKind::Compare, {row, col},
                  {{"dir", ir::makeEnum(ir::kCompareDirEnum, ir::CompareDir::Ge)}}));
  TRY_ASSIGN(Value * zero, g.op(OpKind::Full, {}, {{"value", 0.0}}, {f64({})}));
  TRY_ASSIGN(Value * ninf, g.op(OpKind::Full, {}, {{"value", -1e9}}, {f64({})}));
  TRY_ASSIGN(Value * mask, g.op(OpKind::Select, {visible, zero, ninf}));
  for (int l = 0; l < kLayers; ++l) {
    TRY_ASSIGN(x, block(g, x, mask, l));
  }
  TRY_ASSIGN(Value * hf, g.layerNorm(x, "lnf"));
  // Tied LM head: logits[b, s, v] = sum_h hf[b, s, h] * wte[v, h].
  TRY_ASSIGN(Value * logits, g.op(OpKind::Dot, {hf, wte},
                                  {{"lhs_batch", IL{}}, {"rhs_batch", IL{}},
                                   {"lhs_contract", IL{2}}, {"rhs_contract", IL{1}}}));
  TRY_ASSIGN(Value * loss, g.op(OpKind::CrossEntropy, {logits, targets}));
  f->setResults({loss});
  return Status::ok();
}

// Deterministic values in [lo, hi) from a 64-bit LCG, independent of the code tested.
struct Lcg {
  uint64_t s;
  double next(double lo, double hi) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * static_cast<double>(s >> 11) / 9007199254740992.0;
  }
};

std::map<std::string, Tensor> makeInputs(const ir::Function& f) {
  std::map<std::string, Tensor> in;
  Lcg rng{12345};
  for (int i = 0; i < f.numArguments(); ++i) {
    const Value* arg = f.argument(i);
    const std::string& name = arg->name();
    IL shape;
    for (const Dim& d : arg->type().shape)
      shape.push_back(d.evaluate({{"B", kBatch}, {"S", kSeq}}).value());
    std::vector<double> v(ir::numElementsOf(shape));
    if (name == "tokens") {
      v = {0, 3, 3, 5, 1, 0};  // token 2, 4 and 6 never read
    } else if (name == "targets") {
      v = {3, 3, 5, -100, 0, 2};  // one ignored position
    } else {
      // Scales around 1, everything else large enough that no gradient is negligible.
      double base = name.ends_with("_scale") ? 1.0 : 0.0;
      for (double& x : v) x = base + rng.next(-0.5, 0.5);
    }
    in.emplace(name, Tensor(arg->type().dtype, shape, v));
  }
  return in;
}

TEST(GptGrad, EveryWeightMatchesFiniteDifferences) {
  ir::Module fwdModule("gpt");
  ir::Module gradModule("gpt");
  for (ir::Module* m : {&fwdModule, &gradModule}) m->symbols = {{"B", 1, {}}, {"S", 1, {}}};
  ir::Function* fwd = fwdModule.addFunction("main");
  Status built = buildGpt(fwd);
  ASSERT_TRUE(built.isOk()) << built.message();

  ir::Function* f = gradModule.addFunction("main");
  ASSERT_TRUE(buildGpt(f).isOk());
  std::vector<Value*> wrt;
  for (int i = 0; i < f->numArguments(); ++i)
    if (f->argument(i)->type().dtype == DType::F64) wrt.push_back(f->argument(i));
  ASSERT_EQ(wrt.size(), size_t(4 + kLayers * 16));  // wte, wpe, lnf scale and bias, blocks
  auto info = differentiate(*f, 0, wrt);
  ASSERT_TRUE(info.isOk()) << info.status().message();
  Status verified = ir::verifyModule(gradModule);
  ASSERT_TRUE(verified.isOk()) << verified.message();
  ASSERT_EQ(f->results().size(), wrt.size() + 1);
  for (size_t i = 0; i < wrt.size(); ++i)
    EXPECT_EQ(f->results()[i + 1]->type(), wrt[i]->type()) << wrt[i]->name();

  std::map<std::string, Tensor> inputs = makeInputs(*fwd);
  auto withGrads = ir::interpret(*f, inputs);
  ASSERT_TRUE(withGrads.isOk()) << withGrads.status().message();
  auto plain = ir::interpret(*fwd, inputs);
  ASSERT_TRUE(plain.isOk()) << plain.status().message();
  double loss = plain->outputs[0][0];
  ASSERT_TRUE(std::isfinite(loss));
  EXPECT_EQ(withGrads->outputs[0][0], loss);  // the forward part is unchanged

  auto lossAt = [&](const std::string& name, int64_t j, double delta) {
    std::map<std::string, Tensor> moved = inputs;
    Tensor t = moved.at(name);
    t.set(j, t[j] + delta);
    moved.insert_or_assign(name, t);
    auto r = ir::interpret(*fwd, moved);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    return r.isOk() ? r->outputs[0][0] : NAN;
  };
  Lcg pick{777};
  const double h = 1e-5;
  int checked = 0, nonzero = 0;
  for (size_t i = 0; i < wrt.size(); ++i) {
    const std::string& name = wrt[i]->name();
    const Tensor& grad = withGrads->outputs[i + 1];
    const Tensor& value = inputs.at(name);
    ASSERT_EQ(grad.shape(), value.shape()) << name;
    for (int n = 0; n < 3; ++n) {
      int64_t j = static_cast<int64_t>(pick.next(0, static_cast<double>(value.numElements())));
      if (name == "wpe") j = j % (kSeq * kHidden);  // rows beyond S are checked below
      double fd = (lossAt(name, j, h) - lossAt(name, j, -h)) / (2 * h);
      EXPECT_NEAR(grad[j], fd, 1e-7 + 1e-5 * std::fabs(fd)) << name << " entry " << j;
      ++checked;
      if (std::fabs(fd) > 1e-6) ++nonzero;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(3 * wrt.size()));
  // The check means something only if most sampled gradients are not zero.
  EXPECT_GT(nonzero, checked * 3 / 4);

  // Position embeddings of rows >= S are never read: their gradient is exactly zero.
  for (size_t i = 0; i < wrt.size(); ++i) {
    if (wrt[i]->name() != "wpe") continue;
    const Tensor& grad = withGrads->outputs[i + 1];
    for (int64_t j = kSeq * kHidden; j < kMaxSeq * kHidden; ++j) EXPECT_EQ(grad[j], 0.0) << j;
    double rowsUsed = 0;
    for (int64_t j = 0; j < kSeq * kHidden; ++j) rowsUsed += std::fabs(grad[j]);
    EXPECT_GT(rowsUsed, 0.0);
  }
}

}  // namespace
}  // namespace tessera::passes
