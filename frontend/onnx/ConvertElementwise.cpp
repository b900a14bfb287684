// Converters of the elementwise ONNX ops: unary math, binary arithmetic (numpy broadcasting is
// native in Tessera), comparisons, Where, Cast, and the identities (Identity, inference-mode
// Dropout). Integer arithmetic on shape values is done on Dims (ShapeFold.cpp) so that shape
// sub-graphs stay symbolic and exact.
#include "frontend/onnx/Converters.h"
#include "frontend/onnx/OnnxTensor.h"

namespace tessera::frontend::onnximport {

using ir::CompareDir;
using ir::Dim;
using ir::DType;
using ir::OpKind;

namespace {

OpKind unaryKind(const std::string& t) {
  if (t == "Abs") return OpKind::Abs;
  if (t == "Cos") return OpKind::Cos;
  if (t == "Erf") return OpKind::Erf;
  if (t == "Exp") return OpKind::Exp;
  if (t == "Log") return OpKind::Log;
  if (t == "Neg") return OpKind::Neg;
  if (t == "Relu") return OpKind::Relu;
  if (t == "Sigmoid") return OpKind::Sigmoid;
  if (t == "Sin") return OpKind::Sin;
  if (t == "Sqrt") return OpKind::Sqrt;
  assert(t == "Tanh");
  return OpKind::Tanh;
}

Status requireSameDType(NodeContext& n, const Entry& a, const Entry& b) {
  if (a.type.dtype != b.type.dtype)
    return n.error("inputs must have the same element type, got " + a.type.str() + " and " +
                   b.type.str());
  return Status::ok();
}

// True when both are shape values (integer, rank <= 1, elements known as Dims).
bool bothDims(const Entry& a, const Entry& b) {
  return a.dims && b.dims && a.type.dtype == b.type.dtype;
}

}  // namespace

Status convertUnary(NodeContext& n) {
  TRY(n.expectInputs(1, 1));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry x, n.input(0));
  if (n.node.op_type() == "Neg" && x.dims && !x.isConstant()) {
    std::vector<Dim> out;
    for (const Dim& d : *x.dims) out.push_back(-d);
    return n.setOutput(0, dimsEntry(std::move(out), x.type.rank() == 0, x.type.dtype));
  }
  TRY_ASSIGN(Entry y, n.emit(unaryKind(n.node.op_type()), {x}));
  return n.setOutput(0, std::move(y));
}

Status convertReciprocal(NodeContext& n) {
  TRY(n.expectInputs(1, 1));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry x, n.input(0));
  if (!ir::isFloat(x.type.dtype)) return n.error("input must be a float tensor, got " + x.type.str());
  TRY_ASSIGN(Entry one, n.constScalar(1.0, x.type.dtype));
  TRY_ASSIGN(Entry y, n.emit(OpKind::Div, {one, x}));
  return n.setOutput(0, std::move(y));
}

Status convertIdentity(NodeContext& n) {
  TRY(n.expectInputs(1, 1));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry x, n.input(0));
  return n.setOutput(0, std::move(x));
}

// Dropout is the identity in inference mode (training_mode absent or false) or with ratio 0;
// random masking in training mode is rejected rather than silently skipped.
Status convertDropout(NodeContext& n) {
  TRY(n.expectInputs(1, 3));
  TRY(n.allowAttrs({"seed"}));
  TRY_ASSIGN(Entry x, n.input(0));
  bool training = false;
  if (n.hasInput(2)) {
    TRY_ASSIGN(double t, n.scalarInput(2, "training_mode"));
    training = t != 0;
  }
  double ratio = 0.5;
  if (training && n.hasInput(1)) {  // the ratio matters only in training mode
    TRY_ASSIGN(ratio, n.scalarInput(1, "ratio"));
  }
  if (training && ratio != 0)
    return n.unsupported("dropout in training mode (ratio " + std::to_string(ratio) +
                         ") is not supported; export with dropout disabled");
  if (n.wantsOutput(1)) {
    TRY_ASSIGN(Entry mask, n.emit(OpKind::Full, {}, {{"value", 1.0}},
                                  {ir::TensorType{DType::Bool, x.type.shape}}));
    TRY(n.setOutput(1, std::move(mask)));
  }
  return n.setOutput(0, std::move(x));
}

Status convertBinary(NodeContext& n) {
  TRY(n.expectInputs(2, 2));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry a, n.input(0));
  TRY_ASSIGN(Entry b, n.input(1));
  TRY(requireSameDType(n, a, b));
  const std::string& t = n.node.op_type();
  char op = t == "Add" ? '+' : t == "Sub" ? '-' : t == "Mul" ? '*' : '/';
  if (bothDims(a, b)) {
    if (auto r = dimsArith(op, *a.dims, *b.dims)) {
      bool scalar = a.type.rank() == 0 && b.type.rank() == 0;
      return n.setOutput(0, dimsEntry(std::move(*r), scalar, a.type.dtype));
    }
    if (!a.isConstant() || !b.isConstant())
      return n.unsupported("the shape arithmetic " + a.type.str() + " " + op + " " +
                           b.type.str() + " has no exact symbolic result");
  }
  OpKind kind = op == '+' ? OpKind::Add : op == '-' ? OpKind::Sub : op == '*' ? OpKind::Mul
                                                                                : OpKind::Div;
  TRY_ASSIGN(Entry y, n.emit(kind, {a, b}));
  return n.setOutput(0, std::move(y));
}

// Pow's exponent may have another element type than the base (the result has the base's).
// An integer base with a float exponent is computed in the exponent's type and truncated back.
Status convertPow(NodeContext& n) {
  TRY(n.expectInputs(2, 2));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry x, n.input(0));
  TRY_ASSIGN(Entry y, n.input(1));
  DType out = x.type.dtype;
  if (x.type.dtype != y.type.dtype) {
    if (ir::isFloat(x.type.dtype)) {
      TRY_ASSIGN(y, n.cast(y, x.type.dtype));
    } else if (ir::isFloat(y.type.dtype)) {
      TRY_ASSIGN(x, n.cast(x, y.type.dtype));
    } else {
      TRY_ASSIGN(y, n.cast(y, x.type.dtype));
    }
  }
  TRY_ASSIGN(Entry r, n.emit(OpKind::Pow, {x, y}));
  TRY_ASSIGN(r, n.cast(r, out));
  return n.setOutput(0, std::move(r));
}

// Max, Min, Sum, Mean: a left fold of the binary op over every input (Mean then divides).
Status convertVariadic(NodeContext& n) {
  TRY(n.allowAttrs({}));
  if (n.numInputs() < 1) return n.error("expects at least one input");
  const std::string& t = n.node.op_type();
  OpKind kind = t == "Max" ? OpKind::Max : t == "Min" ? OpKind::Min : OpKind::Add;
  TRY_ASSIGN(Entry acc, n.input(0));
  for (int i = 1; i < n.numInputs(); ++i) {
    TRY_ASSIGN(Entry x, n.input(i));
    TRY(requireSameDType(n, acc, x));
    TRY_ASSIGN(acc, n.emit(kind, {acc, x}));
  }
  if (t == "Mean") {
    if (!ir::isFloat(acc.type.dtype)) return n.unsupported("Mean of integer tensors");
    TRY_ASSIGN(Entry count, n.constScalar(n.numInputs(), acc.type.dtype));
    TRY_ASSIGN(acc, n.emit(OpKind::Div, {acc, count}));
  }
  return n.setOutput(0, std::move(acc));
}

// Clip(x, min?, max?) = min(max(x, lo), hi); NaN stays NaN.
Status convertClip(NodeContext& n) {
  TRY(n.expectInputs(1, 3));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry y, n.input(0));
  if (n.hasInput(1)) {
    TRY_ASSIGN(Entry lo, n.input(1));
    TRY(requireSameDType(n, y, lo));
    TRY_ASSIGN(y, n.emit(OpKind::Max, {y, lo}));
  }
  if (n.hasInput(2)) {
    TRY_ASSIGN(Entry hi, n.input(2));
    TRY(requireSameDType(n, y, hi));
    TRY_ASSIGN(y, n.emit(OpKind::Min, {y, hi}));
  }
  return n.setOutput(0, std::move(y));
}

// LeakyRelu (slope = alpha) and PRelu (slope = input 1): x < 0 ? slope * x : x.
Status convertLeakyRelu(NodeContext& n) {
  bool prelu = n.node.op_type() == "PRelu";
  TRY(n.expectInputs(prelu ? 2 : 1, prelu ? 2 : 1));
  TRY(n.allowAttrs(prelu ? std::initializer_list<const char*>{}
                         : std::initializer_list<const char*>{"alpha"}));
  TRY_ASSIGN(Entry x, n.input(0));
  Entry slope;
  if (prelu) {
    TRY_ASSIGN(slope, n.input(1));
    TRY(requireSameDType(n, x, slope));
  } else {
    TRY_ASSIGN(double alpha, n.attrFloat("alpha", 0.01));
    TRY_ASSIGN(slope, n.constScalar(alpha, x.type.dtype));
  }
  TRY_ASSIGN(Entry zero, n.constScalar(0, x.type.dtype));
  TRY_ASSIGN(Entry neg, n.compare(x, zero, CompareDir::Lt));
  TRY_ASSIGN(Entry scaled, n.emit(OpKind::Mul, {x, slope}));
  TRY_ASSIGN(Entry y, n.emit(OpKind::Select, {neg, scaled, x}));
  return n.setOutput(0, std::move(y));
}

// And, Or, Xor on bool tensors, as selects and a comparison.
Status convertLogical(NodeContext& n) {
  TRY(n.expectInputs(2, 2));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry a, n.input(0));
  TRY_ASSIGN(Entry b, n.input(1));
  if (a.type.dtype != DType::Bool || b.type.dtype != DType::Bool)
    return n.error("inputs must be bool, got " + a.type.str() + " and " + b.type.str());
  const std::string& t = n.node.op_type();
  Entry y;
  if (t == "Xor") {
    TRY_ASSIGN(y, n.compare(a, b, CompareDir::Ne));
  } else {
    TRY_ASSIGN(Entry c, n.constScalar(t == "Or" ? 1.0 : 0.0, DType::Bool));
    if (t == "Or") {
      TRY_ASSIGN(y, n.emit(OpKind::Select, {a, c, b}));
    } else {
      TRY_ASSIGN(y, n.emit(OpKind::Select, {a, b, c}));
    }
  }
  return n.setOutput(0, std::move(y));
}

Status convertCompare(NodeContext& n) {
  TRY(n.expectInputs(2, 2));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry a, n.input(0));
  TRY_ASSIGN(Entry b, n.input(1));
  TRY(requireSameDType(n, a, b));
  const std::string& t = n.node.op_type();
  CompareDir dir = t == "Equal"            ? CompareDir::Eq
                   : t == "Less"           ? CompareDir::Lt
                   : t == "LessOrEqual"    ? CompareDir::Le
                   : t == "Greater"        ? CompareDir::Gt
                                           : CompareDir::Ge;
  if (dir == CompareDir::Eq && bothDims(a, b) && !(a.isConstant() && b.isConstant())) {
    // Equal on shape values (exporters compare shapes with -1 before Expand/Reshape).
    const auto& da = *a.dims;
    const auto& db = *b.dims;
    size_t len = std::max(da.size(), db.size());
    if ((da.size() == len || da.size() == 1) && (db.size() == len || db.size() == 1)) {
      std::vector<double> out;
      for (size_t i = 0; i < len; ++i) {
        auto eq = dimsEqual(da[da.size() == 1 ? 0 : i], db[db.size() == 1 ? 0 : i]);
        if (!eq)
          return n.unsupported("cannot decide whether the symbolic shape values are equal");
        out.push_back(*eq ? 1.0 : 0.0);
      }
      std::vector<int64_t> shape;
      if (a.type.rank() == 1 || b.type.rank() == 1) shape.push_back(static_cast<int64_t>(len));
      return n.setOutput(0, constantEntry(ir::Tensor(DType::Bool, shape, std::move(out))));
    }
  }
  TRY_ASSIGN(Entry y, n.compare(a, b, dir));
  return n.setOutput(0, std::move(y));
}

Status convertNot(NodeContext& n) {
  TRY(n.expectInputs(1, 1));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry x, n.input(0));
  if (x.type.dtype != DType::Bool) return n.error("input must be bool, got " + x.type.str());
  TRY_ASSIGN(Entry f, n.constScalar(0.0, DType::Bool));
  TRY_ASSIGN(Entry y, n.compare(x, f, CompareDir::Eq));
  return n.setOutput(0, std::move(y));
}

Status convertWhere(NodeContext& n) {
  TRY(n.expectInputs(3, 3));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry c, n.input(0));
  TRY_ASSIGN(Entry a, n.input(1));
  TRY_ASSIGN(Entry b, n.input(2));
  TRY(requireSameDType(n, a, b));
  if (c.isConstant() && c.type.rank() <= 1 && bothDims(a, b) &&
      !(a.isConstant() && b.isConstant())) {
    // Where on shape values with a known condition: pick Dims.
    int64_t len = std::max({c.constant->numElements(), static_cast<int64_t>(a.dims->size()),
                            static_cast<int64_t>(b.dims->size())});
    auto at = [&](int64_t size, int64_t i) { return size == 1 ? 0 : i; };
    int64_t lc = c.constant->numElements();
    int64_t la = static_cast<int64_t>(a.dims->size()), lb = static_cast<int64_t>(b.dims->size());
    if ((lc == len || lc == 1) && (la == len || la == 1) && (lb == len || lb == 1)) {
      std::vector<Dim> out;
      for (int64_t i = 0; i < len; ++i)
        out.push_back((*c.constant)[at(lc, i)] != 0 ? (*a.dims)[at(la, i)]
                                                    : (*b.dims)[at(lb, i)]);
      bool scalar = c.type.rank() == 0 && a.type.rank() == 0 && b.type.rank() == 0;
      return n.setOutput(0, dimsEntry(std::move(out), scalar, a.type.dtype));
    }
  }
  TRY_ASSIGN(Entry y, n.emit(OpKind::Select, {c, a, b}));
  return n.setOutput(0, std::move(y));
}

Status convertCast(NodeContext& n) {
  bool like = n.node.op_type() == "CastLike";
  TRY(n.expectInputs(like ? 2 : 1, like ? 2 : 1));
  TRY(n.allowAttrs(like ? std::initializer_list<const char*>{}
                        : std::initializer_list<const char*>{"to"}));
  TRY_ASSIGN(Entry x, n.input(0));
  DType to;
  if (like) {
    TRY_ASSIGN(Entry target, n.input(1));
    to = target.type.dtype;
  } else {
    if (!n.attr("to")) return n.error("attribute 'to' is required");
    TRY_ASSIGN(int64_t t, n.attrInt("to", 0));
    std::optional<DType> d = dtypeFromOnnx(static_cast<int32_t>(t));
    if (!d) return n.unsupported("cast to " + onnxTypeName(static_cast<int32_t>(t)) + " is not supported");
    to = *d;
  }
  TRY_ASSIGN(Entry y, n.cast(x, to));
  return n.setOutput(0, std::move(y));
}

}  // namespace tessera::frontend::onnximport
