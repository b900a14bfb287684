// Imports an ONNX model (opset 13 to 17) into a Tessera module: float initializers become
// trainable parameters, integer initializers constants, `dim_param` dims symbols; shape
// sub-graphs are folded. The file is untrusted: sizes are bounded, raw_data lengths checked
// against dims (overflow-safe), external-data paths confined to the model's folder. An
// unsupported model gets one error listing every unsupported op type with its node names.
//
// The module has one function, @main. Its arguments are the graph inputs that are not
// initializers, in graph order, then one argument per float initializer (bound to the module
// parameter of the same name). Its results are the graph outputs, in order. Names are the ONNX
// names with characters the text form does not allow replaced by '_'.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/Module.h"

namespace tessera::frontend {

StatusOr<std::unique_ptr<ir::Module>> importOnnx(const std::string& path);

// ---- additions beyond the shared interface (used by the conformance runner and tests) ----

// importOnnx with the kind of failure: `unsupported` is set when the model is well-formed but
// uses something Tessera lacks (an op, an opset, an attribute value, an element type), as
// opposed to a malformed or inconsistent file.
struct OnnxImportResult {
  std::unique_ptr<ir::Module> module;  // null on failure
  Status status;
  bool unsupported = false;
};
// Specialization: graph inputs given a value here (by position among the graph inputs that are
// not initializers) become constants instead of @main arguments, so that a model whose Reshape
// target, Slice bounds or axes arrive as inputs can still get static shapes.
struct OnnxImportOptions {
  std::map<int, ir::Tensor> constantInputs;
};
OnnxImportResult importOnnxDetailed(const std::string& path,
                                    const OnnxImportOptions& options = {});
// The same from the file's bytes; `path` names it in errors and locates external data.
OnnxImportResult importOnnxBytes(const std::string& bytes, const std::string& path,
                                 const OnnxImportOptions& options = {});

// Reads a serialized ONNX TensorProto (the test_data_set_*/input_*.pb files), with the same
// checks as initializers (no external data). ONNX 1.12's test data stores bfloat16 tensors as
// UINT16 bit patterns: with `uint16AsBf16`, such a tensor is read as bf16.
StatusOr<ir::Tensor> readOnnxTensorFile(const std::string& path, bool uint16AsBf16 = false);

// The ONNX op types (default domain) the importer converts, sorted.
std::vector<std::string> supportedOnnxOps();

}  // namespace tessera::frontend
