// A small GPT forward pass (token + position embeddings, pre-norm causal self-attention and GELU
// MLP blocks, final layer_norm, vocabulary projection, cross-entropy) built with Function::addOp
// over symbolic B and S, and run through ir::interpret.
//
// What it checks, independently of the op-by-op tests: the ops compose under the interpreter;
// with small random weights the logits are nearly uniform, so the loss is close to log(vocab);
// the causal mask really hides the future (changing the last token leaves every earlier
// position's loss bit-identical); one module runs for several (B, S); and the interpreter is fast
// enough for such a model.
#include <chrono>
#include <cmath>

#include "ir/Interpreter.h"
#include "tests/unit/ops_b/OpsTestUtil.h"

namespace tessera::ir::testing {
namespace {

using IL = std::vector<int64_t>;
using Attrs = std::vector<std::pair<std::string, AttrValue>>;

constexpr int64_t kVocab = 100, kHidden = 64, kHeads = 4, kHeadDim = 16, kMlp = 256;
constexpr int64_t kMaxSeq = 32, kLayers = 2;

// Builds ops in one function; every builder returns the op's first result or the shape error.
class Graph {
 public:
  explicit Graph(Function* f) : f_(f) {}

  StatusOr<Value*> op(OpKind k, std::vector<Value*> in, Attrs attrs = {},
                      std::vector<TensorType> declared = {}) {
    TRY_ASSIGN(Op * o, f_->addOp(OpSpec{k, std::move(in), std::move(attrs), std::move(declared),
                                        Location{"gpt", static_cast<int>(f_->numOps()) + 1, 1}}));
    return o->result();
  }
  Value* param(const std::string& name, Shape shape, DType d = DType::F32) {
    return f_->addArgument(TensorType{d, std::move(shape)}, name);
  }
  StatusOr<Value*> layerNorm(Value* x, const std::string& prefix) {
    return op(OpKind::LayerNorm,
              {x, param(prefix + "_scale", {kHidden}), param(prefix + "_bias", {kHidden})});
  }
  StatusOr<Value*> linear(Value* x, const std::string& name, int64_t in, int64_t out) {
    TRY_ASSIGN(Value * y, op(OpKind::Matmul, {x, param(name + "_w", {in, out})}));
    return op(OpKind::Add, {y, param(name + "_b", {out})});
  }

 private:
  Function* f_;
};

Dim B() { return Dim::symbol("B"); }
Dim S() { return Dim::symbol("S"); }

StatusOr<Value*> attention(Graph& g, Value* x, Value* mask, int layer) {
  std::string p = "l" + std::to_string(layer);
  TRY_ASSIGN(Value * h, g.layerNorm(x, p + "_ln1"));
  auto heads = [&](const std::string& name) -> StatusOr<Value*> {
    TRY_ASSIGN(Value * y, g.linear(h, p + "_" + name, kHidden, kHidden));
    TRY_ASSIGN(Value * r, g.op(OpKind::Reshape, {y}, {},
                               {tt(DType::F32, {B(), S(), kHeads, kHeadDim})}));
    return g.op(OpKind::Transpose, {r}, {{"perm", IL{0, 2, 1, 3}}});  // [B, heads, S, d]
  };
  TRY_ASSIGN(Value * q, heads("q"));
  TRY_ASSIGN(Value * k, heads("k"));
  TRY_ASSIGN(Value * v, heads("v"));
  TRY_ASSIGN(Value * kt, g.op(OpKind::Transpose, {k}, {{"perm", IL{0, 1, 3, 2}}}));
  TRY_ASSIGN(Value * scores, g.op(OpKind::Matmul, {q, kt}));
  TRY_ASSIGN(Value * scale, g.op(OpKind::Full, {}, {{"value", 1.0 / std::sqrt(kHeadDim)}},
                                 {tt(DType::F32, {})}));
  TRY_ASSIGN(Value * scaled, g.op(OpKind::Mul, {scores, scale}));
  TRY_ASSIGN(Value * masked, g.op(OpKind::Add, {scaled, mask}));  // [S, S] broadcasts
  TRY_ASSIGN(Value * probs, g.op(OpKind::Softmax, {masked}, {{"axis", int64_t{-1}}}));
  TRY_ASSIGN(Value * ctx, g.op(OpKind::Matmul, {probs, v}));
  TRY_ASSIGN(Value * back, g.op(OpKind::Transpose, {ctx}, {{"perm", IL{0, 2, 1, 3}}}));
  TRY_ASSIGN(Value * merged, g.op(OpKind::Reshape, {back}, {},
                                  {tt(DType::F32, {B(), S(), kHidden})}));
  TRY_ASSIGN(Value * out, g.linear(merged, p + "_o", kHidden, kHidden));
  return g.op(OpKind::Add, {x, out});
}

StatusOr<Value*> mlp(Graph& g, Value* x, int layer) {
  std::string p = "l" + std::to_string(layer);
  TRY_ASSIGN(Value * h, g.layerNorm(x, p + "_ln2"));
  TRY_ASSIGN(Value * up, g.linear(h, p + "_up", kHidden, kMlp));
  TRY_ASSIGN(Value * act, g.op(OpKind::Gelu, {up}));
  TRY_ASSIGN(Value * down, g.linear(act, p + "_down", kMlp, kHidden));
  return g.op(OpKind::Add, {x, down});
}

// Results: the mean loss (f32[]) and the per-position losses (f32[B, S]).
Status buildGpt(Function* f) {
  Graph g(f);
  Value* tokens = g.param("tokens", {B(), S()}, DType::I32);
  Value* targets = g.param("targets", {B(), S()}, DType::I32);
  TRY_ASSIGN(Value * tokEmb, g.op(OpKind::Gather, {g.param("wte", {kVocab, kHidden}), tokens},
                                  {{"axis", int64_t{0}}}));
  TRY_ASSIGN(Value * pos, g.op(OpKind::Iota, {}, {{"dim", int64_t{0}}}, {tt(DType::I32, {S()})}));
  TRY_ASSIGN(Value * posEmb, g.op(OpKind::Gather, {g.param("wpe", {kMaxSeq, kHidden}), pos},
                                  {{"axis", int64_t{0}}}));
  TRY_ASSIGN(Value * x, g.op(OpKind::Add, {tokEmb, posEmb}));

  // Additive causal mask: 0 where key j <= query i, -1e9 elsewhere (exp underflows to 0).
  TensorType square = tt(DType::I32, {S(), S()});
  TRY_ASSIGN(Value * row, g.op(OpKind::Iota, {}, {{"dim", int64_t{0}}}, {square}));
  TRY_ASSIGN(Value * col, g.op(OpKind::Iota, {}, {{"dim", int64_t{1}}}, {square}));
  TRY_ASSIGN(Value * visible, g.op(OpKind::Compare, {row, col},
                                   {{"dir", makeEnum(kCompareDirEnum, CompareDir::Ge)}}));
  TRY_ASSIGN(Value * zero, g.op(OpKind::Full, {}, {{"value", 0.0}}, {tt(DType::F32, {})}));
  TRY_ASSIGN(Value * ninf, g.op(OpKind::Full, {}, {{"value", -1e9}}, {tt(DType::F32, {})}));
  TRY_ASSIGN(Value * mask, g.op(OpKind::Select, {visible, zero, ninf}));

  for (int l = 0; l < kLayers; ++l) {
    TRY_ASSIGN(x, attention(g, x, mask, l));
    TRY_ASSIGN(x, mlp(g, x, l));
  }
  TRY_ASSIGN(Value * hf, g.layerNorm(x, "lnf"));
  TRY_ASSIGN(Value * logits, g.op(OpKind::Matmul, {hf, g.param("head", {kHidden, kVocab})}));
  TRY_ASSIGN(Value * loss, g.op(OpKind::CrossEntropy, {logits, targets}));
  TRY_ASSIGN(Value * perPos,
             g.op(OpKind::CrossEntropy, {logits, targets},
                  {{"reduction", makeEnum(kLossReductionEnum, LossReduction::None)}}));
  f->setResults({loss, perPos});
  return Status::ok();
}

// Inputs for every argument: LN scales 1 and biases 0, other weights uniform with std 0.02,
// tokens and targets pseudo-random in [0, vocab).
std::map<std::string, Tensor> makeInputs(const Function& f, int64_t b, int64_t s) {
  std::map<std::string, Tensor> in;
  uint64_t seed = 100;
  double a = 0.02 * std::sqrt(3.0);
  for (int i = 0; i < f.numArguments(); ++i) {
    const Value* arg = f.argument(i);
    const std::string& name = arg->name();
    IL shape;
    for (const Dim& d : arg->type().shape)
      shape.push_back(d.evaluate({{"B", b}, {"S", s}}).value());
    if (arg->type().dtype == DType::I32) {
      std::vector<double> v = randomValues(numElementsOf(shape), seed++, 0, kVocab);
      for (double& x : v) x = std::floor(x);
      in.emplace(name, Tensor(DType::I32, shape, v));
    } else if (name.ends_with("_scale")) {
      in.emplace(name, Tensor(DType::F32, shape, std::vector<double>(numElementsOf(shape), 1.0)));
    } else if (name.ends_with("_bias")) {
      in.emplace(name, Tensor(DType::F32, shape));
    } else {
      in.emplace(name, randomTensor(DType::F32, shape, seed++, -a, a));
    }
  }
  return in;
}

TEST(GptForward, LossNearLogVocabAndFast) {
  Module m("gpt");
  Function* f = m.addFunction("forward");
  Status built = buildGpt(f);
  ASSERT_TRUE(built.isOk()) << built.message();
  EXPECT_EQ(f->results()[0]->type(), tt(DType::F32, {}));
  EXPECT_EQ(f->results()[1]->type(), tt(DType::F32, {B(), S()}));

  auto inputs = makeInputs(*f, 4, 32);
  auto start = std::chrono::steady_clock::now();
  auto r = interpret(*f, inputs);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->symbols.at("B"), 4);
  EXPECT_EQ(r->symbols.at("S"), 32);
  double loss = r->outputs[0][0];
  ASSERT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, std::log(static_cast<double>(kVocab)), 0.1);
  // The mean equals the average of the per-position losses (no target is ignored).
  double sum = 0;
  for (double l : r->outputs[1].data()) sum += l;
  EXPECT_NEAR(loss, sum / (4 * 32), 1e-5);
  RecordProperty("interpret_seconds", std::to_string(seconds));
  // Generous against machine noise; it takes a few hundredths of a second on an idle core.
  EXPECT_LT(seconds, 5.0);
}

TEST(GptForward, CausalMaskHidesTheFuture) {
  Module m("gpt");
  Function* f = m.addFunction("forward");
  Status built = buildGpt(f);
  ASSERT_TRUE(built.isOk()) << built.message();
  // A different (B, S) from the other test: the module is compiled once for any symbol values.
  auto inputs = makeInputs(*f, 2, 8);
  auto before = interpret(*f, inputs);
  ASSERT_TRUE(before.isOk()) << before.status().message();
  Tensor tokens = inputs.at("tokens");
  std::vector<double> t = tokens.data();
  t[7] = std::fmod(t[7] + 1, kVocab);   // last position of sequence 0
  t[8 + 3] = std::fmod(t[11] + 1, kVocab);  // position 3 of sequence 1
  inputs.insert_or_assign("tokens", Tensor(DType::I32, {2, 8}, t));
  auto after = interpret(*f, inputs);
  ASSERT_TRUE(after.isOk()) << after.status().message();
  const Tensor& l0 = before->outputs[1];
  const Tensor& l1 = after->outputs[1];
  for (int p = 0; p < 7; ++p) EXPECT_EQ(l0[p], l1[p]) << "sequence 0, position " << p;
  EXPECT_NE(l0[7], l1[7]);
  for (int p = 0; p < 3; ++p) EXPECT_EQ(l0[8 + p], l1[8 + p]) << "sequence 1, position " << p;
  for (int p = 3; p < 8; ++p) EXPECT_NE(l0[8 + p], l1[8 + p]) << "sequence 1, position " << p;
}

}  // namespace
}  // namespace tessera::ir::testing
