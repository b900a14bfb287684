// End to end: a small MLP built as an ONNX graph (with a torch-style shape sub-graph feeding a
// Reshape, a Gemm with transB and a SoftmaxCrossEntropyLoss), imported, run on the interpreter
// and compared with the same network computed here with plain loops. Also: shape sub-graphs on
// symbolic dims fold into symbolic target shapes, and `tessera import` writes a module that
// reads back.
#include <gtest/gtest.h>

#include <cmath>

#include "frontend/OnnxImporter.h"
#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "launcher/Commands.h"
#include "tests/unit/onnx/OnnxTestUtil.h"

namespace tessera {
namespace {

using namespace onnxtest;

constexpr int kIn = 4, kHidden = 5, kClasses = 3;

std::vector<float> ramp(int n, float scale, float offset) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = std::sin(static_cast<float>(i) * scale + offset);
  return v;
}

struct Weights {
  std::vector<float> w1 = ramp(kIn * kHidden, 0.7f, 0.1f);   // [4,5]
  std::vector<float> b1 = ramp(kHidden, 1.3f, 0.5f);         // [5]
  std::vector<float> w2t = ramp(kClasses * kHidden, 0.9f, -0.4f);  // [3,5] (Gemm transB)
  std::vector<float> b2 = ramp(kClasses, 2.1f, 0.3f);        // [3]
};

onnx::ModelProto mlpModel(const Weights& w) {
  onnx::ModelProto m = newModel(17);
  addInput(m, "input.x", onnx::TensorProto::FLOAT, {"batch", kIn});
  addInput(m, "labels", onnx::TensorProto::INT64, {"batch"});
  addInitializer(m, floatTensor("fc1.weight", {kIn, kHidden}, w.w1));
  addInitializer(m, floatTensor("fc1.bias", {kHidden}, w.b1));
  addInitializer(m, floatTensor("fc2.weight", {kClasses, kHidden}, w.w2t));
  addInitializer(m, floatTensor("fc2.bias", {kClasses}, w.b2));
  addNode(m, "MatMul", {"input.x", "fc1.weight"}, {"h"}, "/fc1/MatMul");
  addNode(m, "Add", {"h", "fc1.bias"}, {"hb"}, "/fc1/Add");
  addNode(m, "Relu", {"hb"}, {"r"}, "/relu");
  // r.view(x.shape[0], -1), as torch exports it.
  addNode(m, "Shape", {"input.x"}, {"s"}, "/Shape");
  addIntConstant(m, "zero", {}, {0});
  auto* g = addNode(m, "Gather", {"s", "zero"}, {"b"}, "/Gather");
  setIntAttr(g, "axis", 0);
  addIntConstant(m, "axes0", {1}, {0});
  addNode(m, "Unsqueeze", {"b", "axes0"}, {"bu"}, "/Unsqueeze");
  addIntConstant(m, "minus1", {1}, {-1});
  auto* c = addNode(m, "Concat", {"bu", "minus1"}, {"target"}, "/Concat");
  setIntAttr(c, "axis", 0);
  addNode(m, "Reshape", {"r", "target"}, {"r2"}, "/Reshape");
  auto* gemm = addNode(m, "Gemm", {"r2", "fc2.weight", "fc2.bias"}, {"logits"}, "/fc2/Gemm");
  setIntAttr(gemm, "transB", 1);
  auto* sce = addNode(m, "SoftmaxCrossEntropyLoss", {"logits", "labels"}, {"loss"}, "/loss");
  setStringAttr(sce, "reduction", "mean");
  addOutput(m, "loss", onnx::TensorProto::FLOAT);
  addOutput(m, "logits", onnx::TensorProto::FLOAT, {"batch", kClasses});
  return m;
}

// The MLP computed directly: logits and mean cross-entropy.
void reference(const Weights& w, const std::vector<float>& x, const std::vector<int64_t>& labels,
               std::vector<double>& logits, double& loss) {
  int batch = static_cast<int>(labels.size());
  logits.assign(batch * kClasses, 0);
  loss = 0;
  for (int b = 0; b < batch; ++b) {
    double h[kHidden];
    for (int j = 0; j < kHidden; ++j) {
      double s = w.b1[j];
      for (int i = 0; i < kIn; ++i) s += double(x[b * kIn + i]) * w.w1[i * kHidden + j];
      h[j] = s > 0 ? s : 0;
    }
    double mx = -1e300;
    for (int k = 0; k < kClasses; ++k) {
      double s = w.b2[k];
      for (int j = 0; j < kHidden; ++j) s += h[j] * w.w2t[k * kHidden + j];
      logits[b * kClasses + k] = s;
      mx = std::max(mx, s);
    }
    double z = 0;
    for (int k = 0; k < kClasses; ++k) z += std::exp(logits[b * kClasses + k] - mx);
    loss += -(logits[b * kClasses + labels[b]] - mx - std::log(z));
  }
  loss /= batch;
}

TEST(OnnxMlp, ImportsAndMatchesAHandComputedForwardPass) {
  Weights w;
  auto r = frontend::importOnnxBytes(mlpModel(w).SerializeAsString(), "mlp.onnx");
  ASSERT_TRUE(r.status.isOk()) << r.status.message();
  ir::Module& m = *r.module;

  // Parameters: the four float initializers, trainable, with their values.
  ASSERT_EQ(m.params.size(), 4u);
  for (const ir::Parameter& p : m.params) EXPECT_TRUE(p.trainable) << p.name;
  EXPECT_EQ(m.params[0].name, "fc1.weight");
  EXPECT_EQ(m.params[0].type.str(), "f32[4,5]");
  EXPECT_FLOAT_EQ(static_cast<float>((*m.params[2].init)[7]), w.w2t[7]);
  // The dim_param is a symbol; the graph inputs come first, then the parameters.
  ASSERT_EQ(m.symbols.size(), 1u);
  EXPECT_EQ(m.symbols[0].name, "batch");
  ir::Function* f = m.findFunction("main");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->numArguments(), 6);
  EXPECT_EQ(f->argument(0)->name(), "input.x");
  EXPECT_EQ(f->argument(0)->type().str(), "f32[batch,4]");
  EXPECT_EQ(f->argument(1)->name(), "labels");
  EXPECT_EQ(f->argument(2)->name(), "fc1.weight");
  // The shape sub-graph folded away: its target [batch, -1] is r's own shape [batch,5], so no
  // reshape, gather or concat is left at run time.
  for (const auto& op : f->ops()) {
    EXPECT_NE(op->kind(), ir::OpKind::Gather) << ir::printOp(*op);
    EXPECT_NE(op->kind(), ir::OpKind::Concat) << ir::printOp(*op);
    EXPECT_NE(op->kind(), ir::OpKind::Reshape) << ir::printOp(*op);
  }
  ASSERT_EQ(f->results().size(), 2u);
  EXPECT_EQ(f->results()[0]->type().str(), "f32[]");
  EXPECT_EQ(f->results()[1]->type().str(), "f32[batch,3]");

  std::vector<float> x = ramp(3 * kIn, 0.37f, 1.0f);
  std::vector<int64_t> labels = {2, 0, 1};
  std::map<std::string, ir::Tensor> inputs;
  inputs["input.x"] = ir::Tensor(ir::DType::F32, {3, kIn}, std::vector<double>(x.begin(), x.end()));
  inputs["labels"] = ir::Tensor(ir::DType::I64, {3}, {2, 0, 1});
  auto out = ir::interpret(*f, inputs);
  ASSERT_TRUE(out.isOk()) << out.status().message();
  EXPECT_EQ(out->symbols.at("batch"), 3);
  std::vector<double> logits;
  double loss;
  reference(w, x, labels, logits, loss);
  ASSERT_EQ(out->outputs.size(), 2u);
  EXPECT_EQ(out->outputs[0].shape(), std::vector<int64_t>{});
  EXPECT_NEAR(out->outputs[0][0], loss, 1e-5 * std::fabs(loss) + 1e-6);
  ASSERT_EQ(out->outputs[1].shape(), (std::vector<int64_t>{3, kClasses}));
  for (int i = 0; i < 3 * kClasses; ++i)
    EXPECT_NEAR(out->outputs[1][i], logits[i], 1e-5 * std::fabs(logits[i]) + 1e-6) << i;
}

TEST(OnnxMlp, ShapeSubgraphsFoldToSymbolicShapes) {
  // x: [B, S, 8] -> view(B*S, 8) -> view(B, S, 2, x.shape[-1] / 2) -> expand to
  // ConstantOfShape(Shape(x)[:-1]) + [2, 4].
  onnx::ModelProto m = newModel(17);
  addInput(m, "x", onnx::TensorProto::FLOAT, {"B", "S", 8});
  addNode(m, "Shape", {"x"}, {"s"}, "shape");
  addIntConstant(m, "i0", {}, {0});
  addIntConstant(m, "i1", {}, {1});
  addIntConstant(m, "im1", {}, {-1});
  addIntConstant(m, "ax", {1}, {0});
  addNode(m, "Gather", {"s", "i0"}, {"b"}, "g0");
  addNode(m, "Gather", {"s", "i1"}, {"sq"}, "g1");
  addNode(m, "Gather", {"s", "im1"}, {"h"}, "g2");
  addNode(m, "Mul", {"b", "sq"}, {"bs"}, "mul");
  addNode(m, "Unsqueeze", {"bs", "ax"}, {"bsu"}, "u0");
  addNode(m, "Unsqueeze", {"h", "ax"}, {"hu"}, "u1");
  auto* c0 = addNode(m, "Concat", {"bsu", "hu"}, {"t0"}, "c0");
  setIntAttr(c0, "axis", 0);
  addNode(m, "Reshape", {"x", "t0"}, {"flat"}, "reshape0");
  addIntConstant(m, "two", {}, {2});
  addNode(m, "Div", {"h", "two"}, {"half"}, "div");
  addNode(m, "Unsqueeze", {"half", "ax"}, {"halfu"}, "u2");
  addIntConstant(m, "st", {1}, {0});
  addIntConstant(m, "en", {1}, {-1});
  addNode(m, "Slice", {"s", "st", "en"}, {"bsvec"}, "slice");
  addIntConstant(m, "twov", {1}, {2});
  auto* c1 = addNode(m, "Concat", {"bsvec", "twov", "halfu"}, {"t1"}, "c1");
  setIntAttr(c1, "axis", 0);
  addNode(m, "Reshape", {"flat", "t1"}, {"y"}, "reshape1");
  addNode(m, "ConstantOfShape", {"t1"}, {"ones0"}, "cos");
  addNode(m, "Add", {"y", "ones0"}, {"z"}, "add");
  addOutput(m, "z", onnx::TensorProto::FLOAT);
  auto r = frontend::importOnnxBytes(m.SerializeAsString(), "shapes.onnx");
  ASSERT_TRUE(r.status.isOk()) << r.status.message();
  ir::Function* f = r.module->findFunction("main");
  std::vector<std::string> reshapes;
  for (const auto& op : f->ops())
    if (op->kind() == ir::OpKind::Reshape) reshapes.push_back(op->result()->type().str());
  EXPECT_EQ(reshapes, (std::vector<std::string>{"f32[B*S,8]", "f32[B,S,2,4]"}));
  EXPECT_EQ(f->results()[0]->type().str(), "f32[B,S,2,4]");

  // Run it for B=2, S=3: z = x reshaped + 0.
  std::vector<double> xs(48);
  for (int i = 0; i < 48; ++i) xs[i] = i * 0.5 - 3;
  auto out = ir::interpret(*f, {{"x", ir::Tensor(ir::DType::F32, {2, 3, 8}, xs)}});
  ASSERT_TRUE(out.isOk()) << out.status().message();
  EXPECT_EQ(out->outputs[0].shape(), (std::vector<int64_t>{2, 3, 2, 4}));
  EXPECT_EQ(out->outputs[0].data(), xs);
}

TEST(OnnxMlp, ImportCommandWritesAModuleThatReadsBack) {
  Weights w;
  auto dir = tempDir("cli");
  std::string in = writeModel(mlpModel(w), dir / "mlp.onnx");
  std::string outPath = (dir / "mlp.tir").string();
  CLI::App app;
  std::unique_ptr<launcher::Command> cmd = launcher::makeImportCommand();
  cmd->add(app);
  app.parse("import " + in + " -o " + outPath, false);
  EXPECT_EQ(cmd->run(), launcher::kExitOk);
  std::ifstream file(outPath);
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  auto m = ir::parseModule(text, outPath);
  ASSERT_TRUE(m.isOk()) << m.status().message();
  EXPECT_EQ((*m)->params.size(), 4u);
  EXPECT_NE(text.find("sym batch"), std::string::npos);
  EXPECT_NE(text.find("cross_entropy"), std::string::npos);

  // A model that cannot be imported: exit 1.
  onnx::ModelProto bad = mlpModel(w);
  bad.mutable_opset_import(0)->set_version(9);
  std::string badPath = writeModel(bad, dir / "bad.onnx");
  CLI::App app2;
  std::unique_ptr<launcher::Command> cmd2 = launcher::makeImportCommand();
  cmd2->add(app2);
  app2.parse("import " + badPath + " -o " + (dir / "bad.tir").string(), false);
  EXPECT_EQ(cmd2->run(), launcher::kExitIrError);
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.tir"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tessera
