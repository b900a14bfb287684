// Helpers for building small ONNX models in tests with the protobuf API (the importer's tests
// must not depend on files made by another tool).
#pragma once

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#ifndef ONNX_NAMESPACE
#define ONNX_NAMESPACE onnx
#endif

#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include <unistd.h>

#include <onnx/onnx_pb.h>

namespace tessera::onnxtest {

inline onnx::ModelProto newModel(int64_t opset = 17) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* o = m.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  m.mutable_graph()->set_name("test_graph");
  return m;
}

// A dim is a number or, as a string, a dim_param.
struct DimSpec {
  DimSpec(int64_t v) : value(v) {}  // NOLINT
  DimSpec(const char* p) : param(p) {}  // NOLINT
  int64_t value = -1;
  std::string param;
};

inline void setType(onnx::ValueInfoProto* v, int32_t elemType, std::vector<DimSpec> dims) {
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elemType);
  auto* shape = tt->mutable_shape();
  for (const DimSpec& d : dims) {
    auto* dim = shape->add_dim();
    if (d.param.empty()) dim->set_dim_value(d.value);
    else dim->set_dim_param(d.param);
  }
}

inline void addInput(onnx::ModelProto& m, const std::string& name, int32_t elemType,
                     std::vector<DimSpec> dims) {
  auto* v = m.mutable_graph()->add_input();
  v->set_name(name);
  setType(v, elemType, std::move(dims));
}

inline void addOutput(onnx::ModelProto& m, const std::string& name, int32_t elemType,
                      std::vector<DimSpec> dims = {}) {
  auto* v = m.mutable_graph()->add_output();
  v->set_name(name);
  setType(v, elemType, std::move(dims));
}

inline onnx::NodeProto* addNode(onnx::ModelProto& m, const std::string& opType,
                                std::vector<std::string> inputs, std::vector<std::string> outputs,
                                const std::string& name = "") {
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type(opType);
  n->set_name(name);
  for (auto& i : inputs) n->add_input(i);
  for (auto& o : outputs) n->add_output(o);
  return n;
}

inline void setIntAttr(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

inline void setIntsAttr(onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

inline void setStringAttr(onnx::NodeProto* n, const std::string& name, const std::string& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

inline onnx::TensorProto floatTensor(const std::string& name, std::vector<int64_t> dims,
                                     const std::vector<float>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()),
                             values.size() * sizeof(float)));
  return t;
}

inline onnx::TensorProto int64Tensor(const std::string& name, std::vector<int64_t> dims,
                                     const std::vector<int64_t>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t.add_dims(d);
  for (int64_t v : values) t.add_int64_data(v);
  return t;
}

inline void addInitializer(onnx::ModelProto& m, onnx::TensorProto t) {
  *m.mutable_graph()->add_initializer() = std::move(t);
}

// A Constant node holding an int64 tensor.
inline void addIntConstant(onnx::ModelProto& m, const std::string& out, std::vector<int64_t> dims,
                           const std::vector<int64_t>& values) {
  auto* n = addNode(m, "Constant", {}, {out}, out + "_const");
  auto* a = n->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  *a->mutable_t() = int64Tensor("", std::move(dims), values);
}

inline std::string writeModel(const onnx::ModelProto& m, const std::filesystem::path& path) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  m.SerializeToOstream(&out);
  return path.string();
}

// A fresh directory under the system temp dir, unique to this test.
inline std::filesystem::path tempDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("tessera_onnx_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace tessera::onnxtest
