// Loading an ONNX model file as untrusted input: a bounded read, a protobuf parse with limits,
// and the structural checks every later stage relies on (opset 13 to 17, bounded node and value
// counts, no sub-graphs). Every error names the file and the offending field.
#pragma once

#include <cstdint>
#include <string>

#include <onnx/onnx_pb.h>

#include "ir/Status.h"

namespace tessera::frontend::onnximport {

inline constexpr int64_t kMinOpset = 13;
inline constexpr int64_t kMaxOpset = 17;
// A model file above this size is refused before reading (protobuf cannot parse 2 GiB anyway;
// larger weights belong in external data files).
inline constexpr int64_t kMaxModelBytes = (int64_t{1} << 31) - 1;
inline constexpr int kMaxNodes = 1 << 20;
inline constexpr int kMaxGraphValues = 1 << 20;  // inputs, outputs, initializers each

// Reads `path` (bounded) and parses it.
StatusOr<onnx::ModelProto> loadModelFile(const std::string& path);
// Parses `bytes` read from `file`.
StatusOr<onnx::ModelProto> parseModel(const std::string& bytes, const std::string& file);
// The default-domain opset, checked to be in [kMinOpset, kMaxOpset]; the error names it.
StatusOr<int64_t> checkOpset(const onnx::ModelProto& m, const std::string& file);
// Counts and structure: a graph, bounded sizes.
Status checkStructure(const onnx::ModelProto& m, const std::string& file);

}  // namespace tessera::frontend::onnximport
