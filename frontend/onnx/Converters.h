// Op converters: one function per ONNX op type (or family), looked up by op type in the table
// OnnxOps.def. A converter reads its node through NodeContext — inputs as Entries, attributes
// type-checked — and defines the node's outputs by emitting Tessera ops through the folding
// builder. A node the converter cannot translate faithfully (an attribute value, an element type
// or a dynamic shape Tessera lacks) is rejected with `unsupported(...)`, never approximated.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "frontend/onnx/ImportContext.h"
#include "ir/Op.h"

namespace tessera::frontend::onnximport {

class NodeContext {
 public:
  NodeContext(ImportContext& ic, const onnx::NodeProto& node, int index, int64_t opset);

  ImportContext& ic;
  const onnx::NodeProto& node;
  const int index;
  const int64_t opset;

  std::string label() const;  // "node 'name' (OpType)"
  Location loc() const { return loc_; }
  // An error naming the node. `unsupported` also marks the import as failing for a missing
  // feature (not a malformed file).
  Status error(const std::string& msg) const;
  Status unsupported(const std::string& msg);
  // An IR error (formatted "loc: error: msg") re-located at the node.
  Status wrap(const Status& inner) const;

  // ---- inputs and outputs; an empty name is an omitted optional input/output ----
  int numInputs() const { return node.input_size(); }
  bool hasInput(int i) const { return i < node.input_size() && !node.input(i).empty(); }
  StatusOr<Entry> input(int i) const;
  // At least `min` and at most `max` inputs (trailing omitted ones allowed).
  Status expectInputs(int min, int max) const;
  int numOutputs() const { return node.output_size(); }
  bool wantsOutput(int i) const { return i < node.output_size() && !node.output(i).empty(); }
  Status setOutput(int i, Entry e);

  // An input that must be known at import time as (possibly symbolic) dims / constant ints.
  StatusOr<std::vector<ir::Dim>> dimsInput(int i, const std::string& what);
  StatusOr<std::vector<int64_t>> intsInput(int i, const std::string& what);
  StatusOr<double> scalarInput(int i, const std::string& what);

  // ---- attributes, type-checked ----
  const onnx::AttributeProto* attr(const std::string& name) const;
  StatusOr<int64_t> attrInt(const std::string& name, int64_t dflt) const;
  StatusOr<double> attrFloat(const std::string& name, double dflt) const;
  StatusOr<std::optional<std::vector<int64_t>>> attrInts(const std::string& name) const;
  StatusOr<std::string> attrString(const std::string& name, const std::string& dflt) const;
  // Rejects attributes the converter does not know (so none is silently ignored).
  Status allowAttrs(std::initializer_list<const char*> names);

  // ---- building ----
  StatusOr<Entry> emit(ir::OpKind kind, const std::vector<Entry>& operands,
                       std::vector<std::pair<std::string, ir::AttrValue>> attrs = {},
                       std::vector<ir::TensorType> declared = {});
  StatusOr<Entry> constScalar(double v, ir::DType dtype);
  StatusOr<Entry> cast(const Entry& e, ir::DType dtype);
  StatusOr<Entry> reshape(const Entry& e, ir::Shape shape);
  StatusOr<Entry> transpose(const Entry& e, std::vector<int64_t> perm);
  // numpy-broadcasts `e` to `shape` (trailing alignment).
  StatusOr<Entry> broadcastTo(const Entry& e, const ir::Shape& shape);
  StatusOr<Entry> compare(const Entry& a, const Entry& b, ir::CompareDir dir);
  StatusOr<Entry> reduce(ir::OpKind kind, const Entry& e, std::vector<int64_t> axes,
                         bool keepdims);
  // A possibly negative axis as an index in [0, rank), or an error naming `what`.
  StatusOr<int> axis(int64_t a, int rank, const std::string& what) const;

 private:
  Location loc_;
};

using ConvertFn = Status (*)(NodeContext&);

// The converter for an ONNX op type of the default domain, or null if unsupported.
ConvertFn findConverter(const std::string& opType);
// Every supported op type, sorted (for docs and messages).
std::vector<std::string> supportedOpTypes();

#define ONNX_OP(type, fn) Status fn(NodeContext&);
#include "frontend/onnx/OnnxOps.def"

// Symbolic-shape helpers (ShapeFold.cpp).
// numpy broadcasting of two symbolic shapes; nullopt if they do not broadcast.
std::optional<ir::Shape> broadcastShape(const ir::Shape& a, const ir::Shape& b);
// a / b for Dims when the quotient is exact (b a constant or c * one monomial).
std::optional<ir::Dim> divideExact(const ir::Dim& a, const ir::Dim& b);
// Elementwise Dim arithmetic for ONNX Add/Sub/Mul/Div on shape values (numpy broadcast of rank
// <= 1 operands); nullopt when a result is not exact (a symbolic quotient with a remainder).
std::optional<std::vector<ir::Dim>> dimsArith(char op, const std::vector<ir::Dim>& a,
                                              const std::vector<ir::Dim>& b);
// Dim equality when decidable: symbols are positive, so B == -1 is false; B == 3 is unknown.
std::optional<bool> dimsEqual(const ir::Dim& a, const ir::Dim& b);

}  // namespace tessera::frontend::onnximport
