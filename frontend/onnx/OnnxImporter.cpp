// The ONNX importer's top level: checks the model, reports every unsupported op at once, turns
// graph inputs and initializers into @main's arguments, parameters and constants, runs each
// node's converter in order, and returns the graph outputs. See frontend/OnnxImporter.h.
#include "frontend/OnnxImporter.h"

#include <filesystem>
#include <fstream>
#include <map>

#include "frontend/onnx/Converters.h"
#include "frontend/onnx/OnnxModel.h"
#include "frontend/onnx/OnnxTensor.h"
#include "ir/Verifier.h"

namespace tessera::frontend {

namespace {

using namespace onnximport;
using ir::Dim;

Status err(const std::string& file, const std::string& msg) {
  return Status::error(Location{file, 0, 0}, msg);
}

// One error listing every op type without a converter, with the nodes that use it.
Status checkOpsSupported(const onnx::GraphProto& g, const std::string& file) {
  std::map<std::string, std::vector<std::string>> missing;
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& node = g.node(i);
    std::string domain = node.domain();
    bool defaultDomain = domain.empty() || domain == "ai.onnx";
    std::string type = defaultDomain ? node.op_type() : domain + "." + node.op_type();
    if (defaultDomain && findConverter(node.op_type())) continue;
    std::string label = node.name().empty() ? "#" + std::to_string(i) : "'" + node.name() + "'";
    auto& nodes = missing[type];
    if (nodes.size() < 20) nodes.push_back(label);
    else if (nodes.size() == 20) nodes.push_back("...");
  }
  if (missing.empty()) return Status::ok();
  std::string msg = std::string(kUnsupportedTag) + std::to_string(missing.size()) +
                    " ONNX op type" + (missing.size() == 1 ? " is" : "s are") +
                    " not supported: ";
  bool first = true;
  for (const auto& [type, nodes] : missing) {
    msg += (first ? "" : "; ") + type + " (node" + (nodes.size() == 1 ? " " : "s ");
    for (size_t i = 0; i < nodes.size(); ++i) msg += (i ? ", " : "") + nodes[i];
    msg += ")";
    first = false;
  }
  return err(file, msg);
}

// The Tessera type of a graph input; dim_param dims become symbols, unnamed dynamic dims fresh
// symbols.
StatusOr<ir::TensorType> inputType(ImportContext& ic, const onnx::ValueInfoProto& v) {
  std::string what = "graph input '" + v.name() + "'";
  if (!v.has_type() || !v.type().has_tensor_type())
    return err(ic.file, std::string(kUnsupportedTag) + what + " is not a tensor");
  const auto& tt = v.type().tensor_type();
  std::optional<ir::DType> dtype = dtypeFromOnnx(tt.elem_type());
  if (!dtype) {
    if (tt.elem_type() == onnx::TensorProto::UNDEFINED)
      return err(ic.file, what + " has no element type");
    return err(ic.file, std::string(kUnsupportedTag) + what + ": element type " +
                            onnxTypeName(tt.elem_type()) + " has no Tessera counterpart");
  }
  if (!tt.has_shape())
    return err(ic.file, std::string(kUnsupportedTag) + what +
                            " has no shape (export with static or named dims)");
  if (tt.shape().dim_size() > kMaxRank)
    return err(ic.file, what + " has rank " + std::to_string(tt.shape().dim_size()) +
                            ", more than " + std::to_string(kMaxRank));
  ir::TensorType t{*dtype, {}};
  int64_t constantProduct = 1;
  for (int i = 0; i < tt.shape().dim_size(); ++i) {
    const auto& d = tt.shape().dim(i);
    if (d.has_dim_value()) {
      int64_t val = d.dim_value();
      if (val < 0 || val > kMaxDimValue)
        return err(ic.file, what + ": dim " + std::to_string(i) + " is " + std::to_string(val) +
                                " (must be in [0, " + std::to_string(kMaxDimValue) + "])");
      if (__builtin_mul_overflow(constantProduct, val, &constantProduct) ||
          constantProduct > (int64_t{1} << 50))
        return err(ic.file, what + ": the element count overflows");
      t.shape.push_back(Dim(val));
    } else if (d.has_dim_param() && !d.dim_param().empty()) {
      t.shape.push_back(Dim::symbol(ic.symbolFor(d.dim_param())));
    } else {
      t.shape.push_back(Dim::symbol(ic.freshSymbol(v.name() + "_dim" + std::to_string(i))));
    }
  }
  return t;
}

Status importGraph(const onnx::ModelProto& m, ImportContext& ic, int64_t opset,
                   const OnnxImportOptions& options) {
  const onnx::GraphProto& g = m.graph();
  // Initializers, decoded and checked.
  std::map<std::string, DecodedTensor> inits;
  std::vector<std::string> initOrder;
  for (const onnx::TensorProto& t : g.initializer()) {
    if (t.name().empty()) return err(ic.file, "an initializer has no name");
    if (inits.count(t.name()))
      return err(ic.file, "initializer '" + t.name() + "' is defined twice");
    TRY_ASSIGN(DecodedTensor d, decodeTensor(t, "initializer '" + t.name() + "'", ic.file,
                                             ic.baseDir));
    inits.emplace(t.name(), std::move(d));
    initOrder.push_back(t.name());
  }
  // Graph inputs that are not initializers: @main's leading arguments (or constants when the
  // options bind them).
  int position = -1;
  for (const onnx::ValueInfoProto& v : g.input()) {
    if (v.name().empty()) return err(ic.file, "a graph input has no name");
    if (inits.count(v.name())) continue;  // IR < 4 lists initializers as inputs too
    ++position;
    if (ic.values.count(v.name()))
      return err(ic.file, "graph input '" + v.name() + "' is listed twice");
    TRY_ASSIGN(ir::TensorType t, inputType(ic, v));
    auto bound = options.constantInputs.find(position);
    if (bound != options.constantInputs.end()) {
      const ir::Tensor& value = bound->second;
      bool fits = value.dtype() == t.dtype && value.rank() == t.rank();
      for (int d = 0; fits && d < t.rank(); ++d) {
        auto c = t.shape[d].constant();
        fits = !c || *c == value.shape()[d];
      }
      if (!fits)
        return err(ic.file, "graph input '" + v.name() + "' is " + t.str() +
                                ", the value bound to it is " + ir::dtypeName(value.dtype()) +
                                value.shapeStr());
      ic.values[v.name()] = constantEntry(value);
      continue;
    }
    Entry e;
    e.type = t;
    e.value = ic.func.addArgument(t, ic.uniqueName(v.name()));
    ic.values[v.name()] = std::move(e);
  }
  // Float initializers are trainable parameters (and arguments bound to them); the others are
  // constants.
  for (const std::string& name : initOrder) {
    DecodedTensor& d = inits.at(name);
    if (ir::isFloat(d.tensor.dtype())) {
      ir::Parameter p;
      p.name = ic.uniqueName(name);
      for (int64_t dim : d.tensor.shape()) p.type.shape.push_back(Dim(dim));
      p.type.dtype = d.tensor.dtype();
      p.init = std::make_shared<const ir::Tensor>(std::move(d.tensor));
      p.trainable = true;
      p.loc = Location{ic.file, 0, 0};
      Entry e;
      e.type = p.type;
      e.value = ic.func.addArgument(p.type, p.name);
      ic.module.params.push_back(std::move(p));
      ic.values[name] = std::move(e);
    } else {
      ic.values[name] = constantEntry(std::move(d.tensor), &d.ints);
    }
  }
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& node = g.node(i);
    NodeContext n(ic, node, i, opset);
    TRY(findConverter(node.op_type())(n));
    for (int o = 0; o < node.output_size(); ++o)
      if (!node.output(o).empty() && !ic.values.count(node.output(o)))
        return n.error("output " + std::to_string(o) + " ('" + node.output(o) +
                       "') is not supported by the converter");
  }
  std::vector<ir::Value*> results;
  for (const onnx::ValueInfoProto& v : g.output()) {
    auto it = ic.values.find(v.name());
    if (it == ic.values.end())
      return err(ic.file, "graph output '" + v.name() + "' is not computed by any node");
    StatusOr<ir::Value*> val = ic.materialize(it->second, Location{ic.file, 0, 0});
    if (!val.isOk())
      return err(ic.file, std::string(kUnsupportedTag) + "graph output '" + v.name() +
                              "' is a symbolic shape value");
    if ((*val)->name().empty()) (*val)->setName(ic.uniqueName(v.name()));
    results.push_back(*val);
  }
  ic.func.setResults(std::move(results));
  return Status::ok();
}

OnnxImportResult fail(Status st) {
  OnnxImportResult r;
  r.unsupported = st.message().find(kUnsupportedTag) != std::string::npos;
  r.status = std::move(st);
  return r;
}

OnnxImportResult importModel(const onnx::ModelProto& m, const std::string& path,
                             const OnnxImportOptions& options) {
  StatusOr<int64_t> opset = checkOpset(m, path);
  if (!opset.isOk()) return fail(opset.status());
  Status st = checkStructure(m, path);
  if (!st.isOk()) return fail(st);
  st = checkOpsSupported(m.graph(), path);
  if (!st.isOk()) return fail(st);

  std::filesystem::path p(path);
  std::string name = m.graph().name().empty() ? p.stem().string() : m.graph().name();
  auto module = std::make_unique<ir::Module>(sanitizeName(name, /*identifier=*/false));
  ir::Function* f = module->addFunction("main");
  f->loc = Location{path, 0, 0};
  ImportContext ic(*module, *f, path);
  ic.baseDir = p.parent_path().empty() ? "." : p.parent_path().string();
  st = importGraph(m, ic, *opset, options);
  if (!st.isOk()) return fail(st);
  st = ir::verifyModule(*module);
  if (!st.isOk()) return fail(err(path, "the imported module does not verify: " + st.message()));
  OnnxImportResult r;
  r.module = std::move(module);
  return r;
}

}  // namespace

OnnxImportResult importOnnxBytes(const std::string& bytes, const std::string& path,
                                 const OnnxImportOptions& options) {
  StatusOr<onnx::ModelProto> m = parseModel(bytes, path);
  if (!m.isOk()) return fail(m.status());
  return importModel(*m, path, options);
}

OnnxImportResult importOnnxDetailed(const std::string& path, const OnnxImportOptions& options) {
  StatusOr<onnx::ModelProto> m = loadModelFile(path);
  if (!m.isOk()) return fail(m.status());
  return importModel(*m, path, options);
}

StatusOr<std::unique_ptr<ir::Module>> importOnnx(const std::string& path) {
  OnnxImportResult r = importOnnxDetailed(path);
  if (!r.status.isOk()) return r.status;
  return std::move(r.module);
}

StatusOr<ir::Tensor> readOnnxTensorFile(const std::string& path, bool uint16AsBf16) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return err(path, "cannot open: " + ec.message());
  if (size > static_cast<uintmax_t>(kMaxModelBytes)) return err(path, "the file is too large");
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (!in) return err(path, "cannot read the file");
  onnx::TensorProto t;
  if (!t.ParseFromString(bytes)) return err(path, "not a valid ONNX TensorProto");
  if (uint16AsBf16 && t.data_type() == onnx::TensorProto::UINT16)
    t.set_data_type(onnx::TensorProto::BFLOAT16);  // same storage: 16 bits per element
  TRY_ASSIGN(DecodedTensor d, decodeTensor(t, "tensor '" + t.name() + "'", path, ""));
  return std::move(d.tensor);
}

std::vector<std::string> supportedOnnxOps() { return supportedOpTypes(); }

}  // namespace tessera::frontend
