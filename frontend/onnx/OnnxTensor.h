// Decoding ONNX TensorProtos (initializers, Constant attributes, test-data .pb files) into
// Tessera tensors, treating every field as untrusted: dims must be non-negative, the element
// count is computed with overflow checks and bounded, raw_data and the typed fields must hold
// exactly that many elements, and external data is read only from files inside the model's
// folder (no absolute paths, no `..`, no symlink escaping it).
//
// Only files in frontend/onnx include the ONNX protobuf headers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "ir/Tensor.h"
#include "ir/Type.h"

namespace tessera::frontend::onnximport {

// Bounds on what an untrusted file may make us allocate or compute.
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 28;  // one decoded tensor
inline constexpr int kMaxRank = 32;
inline constexpr int64_t kMaxDimValue = int64_t{1} << 40;       // one declared dim

// The Tessera element type of an ONNX TensorProto.DataType, or nullopt for those Tessera has no
// counterpart for (uint8, int8, int16, uint*, string, complex, ...).
std::optional<ir::DType> dtypeFromOnnx(int32_t onnxType);
// "FLOAT", "UINT8", ...: for messages.
std::string onnxTypeName(int32_t onnxType);

// An error that is a missing feature rather than a malformed file (an element type or storage
// Tessera lacks). Decoding returns it as a Status whose message starts with kUnsupportedTag so
// callers can classify it.
inline constexpr const char* kUnsupportedTag = "unsupported: ";

struct DecodedTensor {
  ir::Tensor tensor;
  // The exact values of an integer or bool tensor (int64 values beyond 2^53 do not survive the
  // double storage of ir::Tensor; slice bounds such as INT64_MAX need them exact).
  std::vector<int64_t> ints;
};

// `what` names the tensor in errors ("initializer 'w'"); `file` is the model path for the
// location; `baseDir` is the model's folder for external data ("" = external data refused).
StatusOr<DecodedTensor> decodeTensor(const onnx::TensorProto& t, const std::string& what,
                                     const std::string& file, const std::string& baseDir);

// Overflow-safe element count of `dims`, bounded by kMaxTensorElements; errors name `what`.
StatusOr<int64_t> checkedElementCount(const std::vector<int64_t>& dims, const std::string& what,
                                      const std::string& file);

// Resolves an external-data `location` against `baseDir`, refusing absolute paths, `..`
// components and anything that resolves (through symlinks) outside `baseDir`.
StatusOr<std::string> confineExternalPath(const std::string& location, const std::string& baseDir,
                                          const std::string& what, const std::string& file);

}  // namespace tessera::frontend::onnximport
