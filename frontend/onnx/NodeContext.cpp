// NodeContext: a converter's view of one ONNX node (inputs, type-checked attributes, errors
// naming the node) and the small op-building helpers shared by the converters; plus the table
// from op type to converter.
#include <algorithm>
#include <map>

#include "frontend/onnx/Converters.h"
#include "frontend/onnx/OnnxTensor.h"

namespace tessera::frontend::onnximport {

using ir::Dim;
using ir::DType;
using ir::OpKind;
using onnx::AttributeProto;

NodeContext::NodeContext(ImportContext& ic, const onnx::NodeProto& node, int index,
                         int64_t opset)
    : ic(ic), node(node), index(index), opset(opset) {
  loc_ = Location{ic.file + ": " + label(), 0, 0};
}

std::string NodeContext::label() const {
  std::string name = node.name().empty() ? "#" + std::to_string(index) : "'" + node.name() + "'";
  return "node " + name + " (" + node.op_type() + ")";
}

Status NodeContext::error(const std::string& msg) const {
  return Status::error(Location{ic.file, 0, 0}, label() + ": " + msg);
}

Status NodeContext::unsupported(const std::string& msg) {
  return error(std::string(kUnsupportedTag) + msg);
}

Status NodeContext::wrap(const Status& inner) const {
  if (inner.isOk()) return inner;
  const std::string& m = inner.message();
  const std::string tag = ": error: ";
  size_t at = m.find(tag);
  std::string body = at == std::string::npos ? m : m.substr(at + tag.size());
  if (body.rfind(label() + ": ", 0) == 0) return inner;  // already located at this node
  return error(body);
}

StatusOr<Entry> NodeContext::input(int i) const {
  if (!hasInput(i))
    return error("input " + std::to_string(i) + " is missing (the node has " +
                 std::to_string(numInputs()) + " inputs)");
  auto it = ic.values.find(node.input(i));
  if (it == ic.values.end())
    return error("input '" + node.input(i) + "' is not defined by an earlier node, an input "
                 "or an initializer");
  return it->second;
}

Status NodeContext::expectInputs(int min, int max) const {
  int n = numInputs();
  while (n > 0 && node.input(n - 1).empty()) --n;  // trailing omitted optionals
  if (n < min || n > max)
    return error("expects " + (min == max ? std::to_string(min)
                                          : std::to_string(min) + " to " + std::to_string(max)) +
                 " inputs, got " + std::to_string(n));
  for (int i = 0; i < min; ++i)
    if (!hasInput(i)) return error("required input " + std::to_string(i) + " is empty");
  return Status::ok();
}

Status NodeContext::setOutput(int i, Entry e) {
  if (!wantsOutput(i)) return Status::ok();
  const std::string& name = node.output(i);
  if (ic.values.count(name))
    return error("output '" + name + "' is already defined (ONNX values are assigned once)");
  if (e.value && e.value->definingOp() && e.value->name().empty())
    e.value->setName(ic.uniqueName(name));
  ic.values[name] = std::move(e);
  return Status::ok();
}

StatusOr<std::vector<Dim>> NodeContext::dimsInput(int i, const std::string& what) {
  TRY_ASSIGN(Entry e, input(i));
  if (e.type.rank() > 1 || !ir::isInteger(e.type.dtype))
    return error(what + " must be an integer tensor of rank 0 or 1, got " + e.type.str());
  if (!e.dims)
    return unsupported(what + " ('" + node.input(i) +
                       "') must be known at import time (a constant or a shape computation); "
                       "it is computed at run time");
  return *e.dims;
}

StatusOr<std::vector<int64_t>> NodeContext::intsInput(int i, const std::string& what) {
  TRY_ASSIGN(std::vector<Dim> dims, dimsInput(i, what));
  std::vector<int64_t> out;
  for (const Dim& d : dims) {
    auto c = d.constant();
    if (!c) return unsupported(what + " must be constant, got the symbolic value " + d.str());
    out.push_back(*c);
  }
  return out;
}

StatusOr<double> NodeContext::scalarInput(int i, const std::string& what) {
  TRY_ASSIGN(Entry e, input(i));
  if (!e.isConstant())
    return unsupported(what + " ('" + node.input(i) + "') must be a constant");
  if (e.constant->numElements() != 1)
    return error(what + " must have one element, got shape " + e.constant->shapeStr());
  return (*e.constant)[0];
}

const AttributeProto* NodeContext::attr(const std::string& name) const {
  for (const AttributeProto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

namespace {
const char* attrTypeName(int t) {
  switch (t) {
    case AttributeProto::INT: return "INT";
    case AttributeProto::FLOAT: return "FLOAT";
    case AttributeProto::INTS: return "INTS";
    case AttributeProto::STRING: return "STRING";
    case AttributeProto::TENSOR: return "TENSOR";
    default: return "another type";
  }
}
}  // namespace

#define CHECK_ATTR_TYPE(a, T)                                                                 \
  if ((a)->type() != AttributeProto::T)                                                       \
    return error("attribute '" + name + "' must be " #T ", got " + attrTypeName((a)->type()));

StatusOr<int64_t> NodeContext::attrInt(const std::string& name, int64_t dflt) const {
  const AttributeProto* a = attr(name);
  if (!a) return dflt;
  CHECK_ATTR_TYPE(a, INT)
  return a->i();
}

StatusOr<double> NodeContext::attrFloat(const std::string& name, double dflt) const {
  const AttributeProto* a = attr(name);
  if (!a) return dflt;
  CHECK_ATTR_TYPE(a, FLOAT)
  return static_cast<double>(a->f());
}

StatusOr<std::optional<std::vector<int64_t>>> NodeContext::attrInts(
    const std::string& name) const {
  const AttributeProto* a = attr(name);
  if (!a) return std::optional<std::vector<int64_t>>();
  CHECK_ATTR_TYPE(a, INTS)
  if (a->ints_size() > kMaxRank * 4) return error("attribute '" + name + "' is too long");
  return std::optional<std::vector<int64_t>>(std::vector<int64_t>(a->ints().begin(), a->ints().end()));
}

StatusOr<std::string> NodeContext::attrString(const std::string& name,
                                              const std::string& dflt) const {
  const AttributeProto* a = attr(name);
  if (!a) return dflt;
  CHECK_ATTR_TYPE(a, STRING)
  return a->s();
}

#undef CHECK_ATTR_TYPE

Status NodeContext::allowAttrs(std::initializer_list<const char*> names) {
  for (const AttributeProto& a : node.attribute()) {
    bool known = std::any_of(names.begin(), names.end(),
                             [&](const char* n) { return a.name() == n; });
    if (!known) return unsupported("attribute '" + a.name() + "' is not supported");
  }
  return Status::ok();
}

StatusOr<Entry> NodeContext::emit(OpKind kind, const std::vector<Entry>& operands,
                                  std::vector<std::pair<std::string, ir::AttrValue>> attrs,
                                  std::vector<ir::TensorType> declared) {
  StatusOr<std::vector<Entry>> r =
      ic.emitN(kind, operands, std::move(attrs), std::move(declared), loc_);
  if (!r.isOk()) return wrap(r.status());
  return std::move(r->front());
}

StatusOr<Entry> NodeContext::constScalar(double v, DType dtype) {
  return constantEntry(ir::Tensor::scalar(dtype, v));
}

StatusOr<Entry> NodeContext::cast(const Entry& e, DType dtype) {
  if (e.type.dtype == dtype) return e;
  if (e.dims && ir::isInteger(dtype) && !e.isConstant()) {
    // Shape values stay shape values through integer casts.
    return dimsEntry(*e.dims, e.type.rank() == 0, dtype);
  }
  return emit(OpKind::Cast, {e}, {{"dtype", dtype}});
}

StatusOr<Entry> NodeContext::reshape(const Entry& e, ir::Shape shape) {
  if (e.type.shape == shape) return e;
  if (e.dims && !e.isConstant() && shape.size() <= 1 &&
      e.type.numElements() == ir::TensorType{DType::I64, shape}.numElements())
    return dimsEntry(*e.dims, shape.empty(), e.type.dtype);
  return emit(OpKind::Reshape, {e}, {}, {ir::TensorType{e.type.dtype, std::move(shape)}});
}

StatusOr<Entry> NodeContext::transpose(const Entry& e, std::vector<int64_t> perm) {
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == static_cast<int64_t>(i);
  if (identity && static_cast<int>(perm.size()) == e.type.rank()) return e;
  return emit(OpKind::Transpose, {e}, {{"perm", std::move(perm)}});
}

StatusOr<Entry> NodeContext::broadcastTo(const Entry& e, const ir::Shape& shape) {
  if (e.type.shape == shape) return e;
  int r = e.type.rank(), out = static_cast<int>(shape.size());
  if (r > out)
    return error("cannot broadcast " + e.type.str() + " to the lower-rank shape " +
                 ir::shapeStr(shape));
  std::vector<int64_t> dims;
  for (int i = 0; i < r; ++i) dims.push_back(out - r + i);
  return emit(OpKind::BroadcastInDim, {e}, {{"dims", std::move(dims)}},
              {ir::TensorType{e.type.dtype, shape}});
}

StatusOr<Entry> NodeContext::compare(const Entry& a, const Entry& b, ir::CompareDir dir) {
  return emit(OpKind::Compare, {a, b}, {{"dir", ir::makeEnum(ir::kCompareDirEnum, dir)}});
}

StatusOr<Entry> NodeContext::reduce(OpKind kind, const Entry& e, std::vector<int64_t> axes,
                                    bool keepdims) {
  return emit(kind, {e}, {{"axes", std::move(axes)}, {"keepdims", keepdims}});
}

StatusOr<int> NodeContext::axis(int64_t a, int rank, const std::string& what) const {
  if (a < -rank || a >= rank)
    return error(what + " " + std::to_string(a) + " is out of range for rank " +
                 std::to_string(rank));
  return static_cast<int>(a < 0 ? a + rank : a);
}

namespace {
const std::map<std::string, ConvertFn>& table() {
  static const std::map<std::string, ConvertFn> t = {
#define ONNX_OP(type, fn) {#type, &fn},
#include "frontend/onnx/OnnxOps.def"
  };
  return t;
}
}  // namespace

ConvertFn findConverter(const std::string& opType) {
  auto it = table().find(opType);
  return it == table().end() ? nullptr : it->second;
}

std::vector<std::string> supportedOpTypes() {
  std::vector<std::string> out;
  for (const auto& [k, v] : table()) out.push_back(k);
  return out;
}

}  // namespace tessera::frontend::onnximport
