// Bounded loading and structural checks of ONNX model files (see OnnxModel.h).
#include "frontend/onnx/OnnxModel.h"

#include <filesystem>
#include <fstream>

#include <google/protobuf/io/coded_stream.h>

#include "frontend/onnx/OnnxTensor.h"

namespace tessera::frontend::onnximport {

namespace {
Status err(const std::string& file, const std::string& msg) {
  return Status::error(Location{file, 0, 0}, msg);
}
}  // namespace

StatusOr<onnx::ModelProto> loadModelFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return err(path, "cannot open: not a regular file");
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return err(path, "cannot open: " + ec.message());
  if (size > static_cast<uintmax_t>(kMaxModelBytes))
    return err(path, "the file has " + std::to_string(size) + " bytes, more than the " +
                         std::to_string(kMaxModelBytes) +
                         " an ONNX protobuf can hold (use external data for large weights)");
  std::ifstream in(path, std::ios::binary);
  if (!in) return err(path, "cannot open for reading");
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (!in) return err(path, "cannot read the file");
  return parseModel(bytes, path);
}

StatusOr<onnx::ModelProto> parseModel(const std::string& bytes, const std::string& file) {
  if (static_cast<int64_t>(bytes.size()) > kMaxModelBytes)
    return err(file, "the model is too large to parse");
  onnx::ModelProto m;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(static_cast<int>(kMaxModelBytes));
  in.SetRecursionLimit(64);
  if (!m.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    return err(file, "not a valid ONNX model: the protobuf does not parse (truncated or "
                     "corrupt file?)");
  return m;
}

StatusOr<int64_t> checkOpset(const onnx::ModelProto& m, const std::string& file) {
  std::optional<int64_t> opset;
  for (const auto& o : m.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") {
      if (opset && *opset != o.version())
        return err(file, "opset_import lists the default domain twice (versions " +
                             std::to_string(*opset) + " and " + std::to_string(o.version()) +
                             ")");
      opset = o.version();
    }
  }
  if (!opset)
    return err(file, std::string(kUnsupportedTag) +
                         "the model imports no opset of the default ONNX domain");
  if (*opset < kMinOpset || *opset > kMaxOpset)
    return err(file, std::string(kUnsupportedTag) + "opset " + std::to_string(*opset) +
                         " is not supported (Tessera imports ONNX opsets " +
                         std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset) +
                         "; re-export with opset_version in that range)");
  return *opset;
}

Status checkStructure(const onnx::ModelProto& m, const std::string& file) {
  if (!m.has_graph()) return err(file, "the model has no graph");
  const onnx::GraphProto& g = m.graph();
  if (g.node_size() > kMaxNodes)
    return err(file, "the graph has " + std::to_string(g.node_size()) + " nodes, more than " +
                         std::to_string(kMaxNodes));
  if (g.input_size() > kMaxGraphValues || g.output_size() > kMaxGraphValues ||
      g.initializer_size() > kMaxGraphValues)
    return err(file, "the graph has too many inputs, outputs or initializers");
  if (g.output_size() == 0) return err(file, "the graph has no outputs");
  if (g.sparse_initializer_size() > 0)
    return err(file, std::string(kUnsupportedTag) + "sparse initializers are not supported");
  return Status::ok();
}

}  // namespace tessera::frontend::onnximport
