// The ONNX importer on bad input: wrong opsets, unsupported ops (all listed in one error), raw
// data that does not match its dims, dims whose element count overflows, external data escaping
// the model's folder, and corrupt files (a fuzz-style loop over truncations and byte flips of a
// valid model). Every case must be a clean error naming the culprit, never a crash.
#include <gtest/gtest.h>

#include "frontend/OnnxImporter.h"
#include "tests/unit/onnx/OnnxTestUtil.h"

namespace tessera {
namespace {

using namespace onnxtest;
using frontend::importOnnxBytes;
using frontend::OnnxImportResult;

// y = x + w, with w a [2,3] float initializer.
onnx::ModelProto addModel(int64_t opset = 17) {
  onnx::ModelProto m = newModel(opset);
  addInput(m, "x", onnx::TensorProto::FLOAT, {2, 3});
  addInitializer(m, floatTensor("w", {2, 3}, {1, 2, 3, 4, 5, 6}));
  addNode(m, "Add", {"x", "w"}, {"y"}, "add0");
  addOutput(m, "y", onnx::TensorProto::FLOAT, {2, 3});
  return m;
}

OnnxImportResult importModel(const onnx::ModelProto& m, const std::string& path = "m.onnx") {
  return importOnnxBytes(m.SerializeAsString(), path);
}

TEST(OnnxErrors, ValidModelImports) {
  OnnxImportResult r = importModel(addModel());
  ASSERT_TRUE(r.status.isOk()) << r.status.message();
  EXPECT_EQ(r.module->params.size(), 1u);
}

TEST(OnnxErrors, WrongOpsetIsRejectedNamingIt) {
  for (int64_t opset : {11, 18}) {
    OnnxImportResult r = importModel(addModel(opset));
    ASSERT_FALSE(r.status.isOk());
    EXPECT_TRUE(r.unsupported);
    EXPECT_NE(r.status.message().find("opset " + std::to_string(opset)), std::string::npos)
        << r.status.message();
    EXPECT_NE(r.status.message().find("13 to 17"), std::string::npos) << r.status.message();
  }
  onnx::ModelProto m = addModel();
  m.clear_opset_import();
  OnnxImportResult r = importModel(m);
  ASSERT_FALSE(r.status.isOk());
  EXPECT_NE(r.status.message().find("no opset"), std::string::npos) << r.status.message();
}

TEST(OnnxErrors, UnsupportedOpsAreListedTogether) {
  onnx::ModelProto m = addModel();
  addNode(m, "FancyConv", {"y"}, {"z1"}, "conv_a");
  addNode(m, "Gelu2", {"z1"}, {"z2"}, "g");
  addNode(m, "FancyConv", {"z2"}, {"z3"}, "conv_b");
  auto* custom = addNode(m, "Attention", {"z3"}, {"z4"}, "att");
  custom->set_domain("com.microsoft");
  addNode(m, "Add", {"z4", "z4"}, {"z5"}, "");
  addNode(m, "Gelu2", {"z5"}, {"z6"}, "");
  OnnxImportResult r = importModel(m);
  ASSERT_FALSE(r.status.isOk());
  EXPECT_TRUE(r.unsupported);
  const std::string& msg = r.status.message();
  EXPECT_NE(msg.find("3 ONNX op types are not supported"), std::string::npos) << msg;
  EXPECT_NE(msg.find("FancyConv (nodes 'conv_a', 'conv_b')"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Gelu2 (nodes 'g', #6)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("com.microsoft.Attention (node 'att')"), std::string::npos) << msg;
  // One error: a single "error:" in the message.
  EXPECT_EQ(msg.find("error:"), msg.rfind("error:")) << msg;
}

TEST(OnnxErrors, RawDataLengthMustMatchDims) {
  onnx::ModelProto m = addModel();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->set_raw_data(std::string(20, '\0'));  // [2,3] floats need 24 bytes
  OnnxImportResult r = importModel(m);
  ASSERT_FALSE(r.status.isOk());
  EXPECT_FALSE(r.unsupported);
  const std::string& msg = r.status.message();
  EXPECT_NE(msg.find("initializer 'w'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("raw_data has 20 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("need 24"), std::string::npos) << msg;
}

TEST(OnnxErrors, TypedFieldLengthMustMatchDims) {
  onnx::ModelProto m = addModel();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_raw_data();
  for (int i = 0; i < 5; ++i) w->add_float_data(1.0f);
  OnnxImportResult r = importModel(m);
  ASSERT_FALSE(r.status.isOk());
  EXPECT_NE(r.status.message().find("float_data has 5 elements but dims need 6"),
            std::string::npos)
      << r.status.message();
}

TEST(OnnxErrors, HugeDimsAreRejectedWithoutOverflow) {
  // 2^40 * 2^40 * 2^40 overflows int64: the count must be checked, not wrapped to something
  // that happens to match the 24 bytes of data.
  onnx::ModelProto m = addModel();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_dims();
  for (int i = 0; i < 3; ++i) w->add_dims(int64_t{1} << 40);
  OnnxImportResult r = importModel(m);
  ASSERT_FALSE(r.status.isOk());
  EXPECT_NE(r.status.message().find("initializer 'w'"), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.message().find("too large"), std::string::npos) << r.status.message();

  // 2^32 * 2^32 wraps to exactly 0 in 64 bits: still refused.
  w->clear_dims();
  w->add_dims(int64_t{1} << 32);
  w->add_dims(int64_t{1} << 32);
  w->set_raw_data("");
  r = importModel(m);
  ASSERT_FALSE(r.status.isOk());
  EXPECT_NE(r.status.message().find("too large"), std::string::npos) << r.status.message();

  // Negative dims.
  w->clear_dims();
  w->add_dims(-2);
  w->add_dims(-3);
  r = importModel(m);
  ASSERT_FALSE(r.status.isOk());
  EXPECT_NE(r.status.message().find("negative dim"), std::string::npos) << r.status.message();

  // A huge declared input dim.
  onnx::ModelProto m2 = addModel();
  auto* shape = m2.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()
                    ->mutable_shape();
  shape->mutable_dim(0)->set_dim_value(int64_t{1} << 62);
  r = importModel(m2);
  ASSERT_FALSE(r.status.isOk());
  EXPECT_NE(r.status.message().find("graph input 'x'"), std::string::npos)
      << r.status.message();
}

TEST(OnnxErrors, HugeConstantOfShapeIsRejected) {
  onnx::ModelProto m = newModel();
  addIntConstant(m, "shape", {3}, {int64_t{1} << 30, int64_t{1} << 30, 4});
  addNode(m, "ConstantOfShape", {"shape"}, {"y"}, "big");
  addOutput(m, "y", onnx::TensorProto::FLOAT);
  OnnxImportResult r = importModel(m);
  ASSERT_FALSE(r.status.isOk());
  EXPECT_NE(r.status.message().find("node 'big' (ConstantOfShape)"), std::string::npos)
      << r.status.message();
}

TEST(OnnxErrors, ExternalDataIsConfinedToTheModelFolder) {
  auto dir = tempDir("external");
  std::vector<float> values = {1, 2, 3, 4, 5, 6};
  {
    std::ofstream out(dir / "weights.bin", std::ios::binary);
    out.write("HEADER!!", 8);  // the tensor starts at offset 8
    out.write(reinterpret_cast<const char*>(values.data()), 24);
  }
  std::filesystem::create_directories(dir / "outside");
  std::filesystem::create_directories(dir / "model");
  {
    std::ofstream out(dir / "outside" / "secret.bin", std::ios::binary);
    out.write(reinterpret_cast<const char*>(values.data()), 24);
  }
  std::filesystem::copy_file(dir / "weights.bin", dir / "model" / "weights.bin");
  std::filesystem::create_symlink(dir / "outside" / "secret.bin", dir / "model" / "link.bin");

  auto withLocation = [&](const std::string& location, const std::string& offset) {
    onnx::ModelProto m = addModel();
    auto* w = m.mutable_graph()->mutable_initializer(0);
    w->clear_raw_data();
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = w->add_external_data();
    kv->set_key("location");
    kv->set_value(location);
    if (!offset.empty()) {
      kv = w->add_external_data();
      kv->set_key("offset");
      kv->set_value(offset);
    }
    return importOnnxBytes(m.SerializeAsString(), (dir / "model" / "m.onnx").string());
  };

  OnnxImportResult ok = withLocation("weights.bin", "8");
  ASSERT_TRUE(ok.status.isOk()) << ok.status.message();
  ASSERT_EQ(ok.module->params.size(), 1u);
  EXPECT_EQ(ok.module->params[0].init->data(), std::vector<double>({1, 2, 3, 4, 5, 6}));

  struct Case {
    std::string location, expected;
  };
  for (const Case& c : {Case{"../outside/secret.bin", "escapes the model's folder"},
                        Case{"sub/../../outside/secret.bin", "escapes the model's folder"},
                        Case{(dir / "outside" / "secret.bin").string(), "absolute path"},
                        Case{"link.bin", "resolves outside the model's folder"},
                        Case{"missing.bin", "cannot read external data"}}) {
    OnnxImportResult r = withLocation(c.location, "");
    ASSERT_FALSE(r.status.isOk()) << c.location;
    EXPECT_NE(r.status.message().find("initializer 'w'"), std::string::npos)
        << r.status.message();
    EXPECT_NE(r.status.message().find(c.expected), std::string::npos) << r.status.message();
  }
  // An offset past the data.
  OnnxImportResult r = withLocation("weights.bin", "16");
  ASSERT_FALSE(r.status.isOk());
  EXPECT_NE(r.status.message().find("too few"), std::string::npos) << r.status.message();
  r = withLocation("weights.bin", "-3");
  ASSERT_FALSE(r.status.isOk());
  EXPECT_NE(r.status.message().find("offset '-3'"), std::string::npos) << r.status.message();
  std::filesystem::remove_all(dir);
}

TEST(OnnxErrors, UndefinedInputsAndBadAttributesNameTheNode) {
  onnx::ModelProto m = addModel();
  addNode(m, "Relu", {"nope"}, {"z"}, "r1");
  OnnxImportResult r = importModel(m);
  ASSERT_FALSE(r.status.isOk());
  EXPECT_NE(r.status.message().find("node 'r1' (Relu): input 'nope' is not defined"),
            std::string::npos)
      << r.status.message();

  onnx::ModelProto m2 = addModel();
  auto* t = addNode(m2, "Transpose", {"y"}, {"z"}, "tr");
  setStringAttr(t, "perm", "0,1");
  r = importModel(m2);
  ASSERT_FALSE(r.status.isOk());
  EXPECT_NE(r.status.message().find("node 'tr' (Transpose): attribute 'perm' must be INTS"),
            std::string::npos)
      << r.status.message();

  onnx::ModelProto m3 = addModel();
  auto* s = addNode(m3, "Softmax", {"y"}, {"z"}, "sm");
  setIntAttr(s, "axis", 7);
  r = importModel(m3);
  ASSERT_FALSE(r.status.isOk());
  EXPECT_NE(r.status.message().find("node 'sm' (Softmax): axis 7 is out of range"),
            std::string::npos)
      << r.status.message();
}

TEST(OnnxErrors, UnsupportedAttributeValueIsRejectedNotApproximated) {
  onnx::ModelProto m = addModel();
  auto* a = addNode(m, "ArgMax", {"y"}, {"z"}, "am");
  setIntAttr(a, "select_last_index", 1);
  OnnxImportResult r = importModel(m);
  ASSERT_FALSE(r.status.isOk());
  EXPECT_TRUE(r.unsupported);
  EXPECT_NE(r.status.message().find("node 'am' (ArgMax): unsupported: select_last_index"),
            std::string::npos)
      << r.status.message();
}

// A deterministic stream of pseudo-random numbers (no global state).
struct Lcg {
  uint64_t s;
  uint64_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return s >> 33;
  }
};

TEST(OnnxErrors, TruncatedAndCorruptFilesGiveCleanErrors) {
  // A model with several node kinds, initializers and a symbolic shape path.
  onnx::ModelProto m = newModel();
  addInput(m, "x", onnx::TensorProto::FLOAT, {"B", 4});
  addInitializer(m, floatTensor("w", {4, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  addInitializer(m, int64Tensor("axes", {1}, {0}));
  addNode(m, "MatMul", {"x", "w"}, {"h"}, "mm");
  addNode(m, "Shape", {"h"}, {"s"}, "shape");
  addNode(m, "Reshape", {"h", "s"}, {"h2"}, "reshape");
  addNode(m, "Relu", {"h2"}, {"r"}, "relu");
  addNode(m, "ReduceSum", {"r", "axes"}, {"y"}, "sum");
  addOutput(m, "y", onnx::TensorProto::FLOAT);
  std::string bytes = m.SerializeAsString();
  ASSERT_TRUE(importOnnxBytes(bytes, "fuzz.onnx").status.isOk());

  int ok = 0, failed = 0;
  for (size_t len = 0; len < bytes.size(); ++len) {
    OnnxImportResult r = importOnnxBytes(bytes.substr(0, len), "fuzz.onnx");
    if (r.status.isOk()) {
      ++ok;
      EXPECT_NE(r.module, nullptr);
    } else {
      ++failed;
      EXPECT_NE(r.status.message().find("fuzz.onnx: error: "), std::string::npos)
          << r.status.message();
    }
  }
  EXPECT_GT(failed, 0);
  Lcg rng{12345};
  for (int iter = 0; iter < 20000; ++iter) {
    std::string b = bytes;
    int flips = 1 + static_cast<int>(rng.next() % 4);
    for (int k = 0; k < flips; ++k) {
      size_t pos = rng.next() % b.size();
      b[pos] = static_cast<char>(rng.next() & 0xff);
    }
    OnnxImportResult r = importOnnxBytes(b, "fuzz.onnx");
    if (r.status.isOk()) {
      ++ok;
      EXPECT_NE(r.module, nullptr);
    } else {
      ++failed;
      EXPECT_EQ(r.status.message().rfind("fuzz.onnx", 0), 0u) << r.status.message();
    }
  }
  EXPECT_GT(failed, 1000);
}

TEST(OnnxErrors, MissingFileIsAnError) {
  auto r = frontend::importOnnx("/nonexistent/dir/model.onnx");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("/nonexistent/dir/model.onnx"), std::string::npos);
}

}  // namespace
}  // namespace tessera
