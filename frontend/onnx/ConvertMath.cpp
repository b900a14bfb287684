// Converters of the contractions, normalizations and reductions: MatMul (numpy semantics: 1-D
// promotion and broadcast batch dims, made explicit for Tessera's matmul), Gemm (transposes,
// matmul, scaling and bias), Softmax / LogSoftmax, LayerNormalization (with its optional Mean
// and InvStdDev outputs), ReduceSum / ReduceMean / ReduceMax, ArgMax, and Trilu (an iota mask and
// a select).
#include <numeric>

#include "frontend/onnx/Converters.h"

namespace tessera::frontend::onnximport {

using ir::CompareDir;
using ir::Dim;
using ir::DType;
using ir::OpKind;
using ir::Shape;
using ir::TensorType;

Status convertMatMul(NodeContext& n) {
  TRY(n.expectInputs(2, 2));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry a, n.input(0));
  TRY_ASSIGN(Entry b, n.input(1));
  if (a.type.rank() == 0 || b.type.rank() == 0)
    return n.error("operands must have rank >= 1, got " + a.type.str() + " and " + b.type.str());
  bool vecA = a.type.rank() == 1, vecB = b.type.rank() == 1;
  if (vecA) {
    TRY_ASSIGN(a, n.reshape(a, {Dim(1), a.type.shape[0]}));
  }
  if (vecB) {
    TRY_ASSIGN(b, n.reshape(b, {b.type.shape[0], Dim(1)}));
  }
  if (b.type.rank() > 2) {
    // Tessera's matmul shares a rank-2 rhs or pairs equal batch dims: broadcast them here.
    Shape batchA(a.type.shape.begin(), a.type.shape.end() - 2);
    Shape batchB(b.type.shape.begin(), b.type.shape.end() - 2);
    auto batch = broadcastShape(batchA, batchB);
    if (!batch)
      return n.error("batch dims of " + a.type.str() + " and " + b.type.str() +
                     " do not broadcast");
    Shape sa = *batch, sb = *batch;
    sa.insert(sa.end(), a.type.shape.end() - 2, a.type.shape.end());
    sb.insert(sb.end(), b.type.shape.end() - 2, b.type.shape.end());
    TRY_ASSIGN(a, n.broadcastTo(a, sa));
    TRY_ASSIGN(b, n.broadcastTo(b, sb));
  }
  TRY_ASSIGN(Entry y, n.emit(OpKind::Matmul, {a, b}));
  if (vecA || vecB) {
    Shape s = y.type.shape;
    if (vecB) s.erase(s.end() - 1);
    if (vecA) s.erase(s.end() - 1 - (vecB ? 0 : 1));
    TRY_ASSIGN(y, n.reshape(y, std::move(s)));
  }
  return n.setOutput(0, std::move(y));
}

Status convertGemm(NodeContext& n) {
  TRY(n.expectInputs(2, 3));
  TRY(n.allowAttrs({"alpha", "beta", "transA", "transB"}));
  TRY_ASSIGN(Entry a, n.input(0));
  TRY_ASSIGN(Entry b, n.input(1));
  TRY_ASSIGN(double alpha, n.attrFloat("alpha", 1.0));
  TRY_ASSIGN(double beta, n.attrFloat("beta", 1.0));
  TRY_ASSIGN(int64_t transA, n.attrInt("transA", 0));
  TRY_ASSIGN(int64_t transB, n.attrInt("transB", 0));
  if (a.type.rank() != 2 || b.type.rank() != 2)
    return n.error("A and B must be matrices, got " + a.type.str() + " and " + b.type.str());
  if (transA) {
    TRY_ASSIGN(a, n.transpose(a, {1, 0}));
  }
  if (transB) {
    TRY_ASSIGN(b, n.transpose(b, {1, 0}));
  }
  TRY_ASSIGN(Entry y, n.emit(OpKind::Matmul, {a, b}));
  if (alpha != 1.0) {
    TRY_ASSIGN(Entry s, n.constScalar(alpha, y.type.dtype));
    TRY_ASSIGN(y, n.emit(OpKind::Mul, {y, s}));
  }
  if (n.hasInput(2)) {
    TRY_ASSIGN(Entry c, n.input(2));
    if (beta != 1.0) {
      TRY_ASSIGN(Entry s, n.constScalar(beta, c.type.dtype));
      TRY_ASSIGN(c, n.emit(OpKind::Mul, {c, s}));
    }
    Shape before = y.type.shape;
    TRY_ASSIGN(y, n.emit(OpKind::Add, {y, c}));
    if (y.type.shape != before)
      return n.error("C " + c.type.str() + " does not broadcast to the product's shape " +
                     ir::shapeStr(before));
  }
  return n.setOutput(0, std::move(y));
}

Status convertSoftmax(NodeContext& n) {
  TRY(n.expectInputs(1, 1));
  TRY(n.allowAttrs({"axis"}));
  TRY_ASSIGN(Entry x, n.input(0));
  TRY_ASSIGN(int64_t a, n.attrInt("axis", -1));
  TRY_ASSIGN(int axis, n.axis(a, x.type.rank(), "axis"));
  OpKind kind = n.node.op_type() == "Softmax" ? OpKind::Softmax : OpKind::LogSoftmax;
  TRY_ASSIGN(Entry y, n.emit(kind, {x}, {{"axis", int64_t{axis}}}));
  return n.setOutput(0, std::move(y));
}

Status convertLayerNorm(NodeContext& n) {
  TRY(n.expectInputs(2, 3));
  TRY(n.allowAttrs({"axis", "epsilon", "stash_type"}));
  TRY_ASSIGN(Entry x, n.input(0));
  TRY_ASSIGN(Entry scale, n.input(1));
  TRY_ASSIGN(int64_t a, n.attrInt("axis", -1));
  TRY_ASSIGN(double eps, n.attrFloat("epsilon", 1e-5));
  TRY_ASSIGN(int64_t stash, n.attrInt("stash_type", 1));
  if (stash != 1) return n.unsupported("stash_type " + std::to_string(stash) + " (only FLOAT)");
  int r = x.type.rank();
  TRY_ASSIGN(int axis, n.axis(a, r, "axis"));
  Shape normalized(x.type.shape.begin() + axis, x.type.shape.end());
  TRY_ASSIGN(scale, n.broadcastTo(scale, normalized));
  Entry bias;
  if (n.hasInput(2)) {
    TRY_ASSIGN(bias, n.input(2));
    TRY_ASSIGN(bias, n.broadcastTo(bias, normalized));
  } else {
    TRY_ASSIGN(bias, n.emit(OpKind::Full, {}, {{"value", 0.0}},
                            {TensorType{x.type.dtype, normalized}}));
  }
  TRY_ASSIGN(Entry y, n.emit(OpKind::LayerNorm, {x, scale, bias},
                             {{"axis", int64_t{axis}}, {"eps", eps}}));
  TRY(n.setOutput(0, std::move(y)));
  if (n.wantsOutput(1) || n.wantsOutput(2)) {
    // Mean and 1/sqrt(var + eps) over the normalized dims, kept as size-1 dims.
    std::vector<int64_t> axes(r - axis);
    std::iota(axes.begin(), axes.end(), axis);
    TRY_ASSIGN(Entry mean, n.reduce(OpKind::ReduceMean, x, axes, true));
    TRY_ASSIGN(Entry d, n.emit(OpKind::Sub, {x, mean}));
    TRY_ASSIGN(Entry sq, n.emit(OpKind::Mul, {d, d}));
    TRY_ASSIGN(Entry var, n.reduce(OpKind::ReduceMean, sq, axes, true));
    TRY_ASSIGN(Entry e, n.constScalar(eps, x.type.dtype));
    TRY_ASSIGN(Entry ve, n.emit(OpKind::Add, {var, e}));
    TRY_ASSIGN(Entry inv, n.emit(OpKind::Rsqrt, {ve}));
    TRY(n.setOutput(1, std::move(mean)));
    TRY(n.setOutput(2, std::move(inv)));
  }
  return Status::ok();
}

Status convertReduce(NodeContext& n) {
  const std::string& t = n.node.op_type();
  bool axesInput = t == "ReduceSum";  // opset 13 moved (only) ReduceSum's axes to an input
  if (axesInput) {
    TRY(n.expectInputs(1, 2));
    TRY(n.allowAttrs({"keepdims", "noop_with_empty_axes"}));
  } else {
    TRY(n.expectInputs(1, 1));
    TRY(n.allowAttrs({"keepdims", "axes"}));
  }
  TRY_ASSIGN(Entry x, n.input(0));
  TRY_ASSIGN(int64_t keepdims, n.attrInt("keepdims", 1));
  std::optional<std::vector<int64_t>> axes;
  if (axesInput) {
    TRY_ASSIGN(int64_t noop, n.attrInt("noop_with_empty_axes", 0));
    if (n.hasInput(1)) {
      TRY_ASSIGN(std::vector<int64_t> v, n.intsInput(1, "axes"));
      if (!v.empty()) axes = v;
    }
    if (!axes && noop) return n.setOutput(0, std::move(x));
  } else {
    TRY_ASSIGN(axes, n.attrInts("axes"));
  }
  int r = x.type.rank();
  std::vector<int64_t> all;
  if (axes) {
    for (int64_t a : *axes) {
      TRY_ASSIGN(int ax, n.axis(a, r, "axis"));
      all.push_back(ax);
    }
  } else {
    all.resize(r);
    std::iota(all.begin(), all.end(), 0);
  }
  bool keep = keepdims != 0;
  bool floatOnly = t == "ReduceMean" || t == "ReduceL2" || t == "ReduceLogSum" ||
                   t == "ReduceLogSumExp";
  if (floatOnly && !ir::isFloat(x.type.dtype))
    return n.unsupported(t + " of the integer tensor " + x.type.str());
  Entry y;
  if (t == "ReduceSum" || t == "ReduceMean" || t == "ReduceMax") {
    OpKind kind = t == "ReduceSum"    ? OpKind::ReduceSum
                  : t == "ReduceMean" ? OpKind::ReduceMean
                                      : OpKind::ReduceMax;
    TRY_ASSIGN(y, n.reduce(kind, x, all, keep));
  } else if (t == "ReduceMin") {  // -max(-x)
    TRY_ASSIGN(Entry neg, n.emit(OpKind::Neg, {x}));
    TRY_ASSIGN(Entry mx, n.reduce(OpKind::ReduceMax, neg, all, keep));
    TRY_ASSIGN(y, n.emit(OpKind::Neg, {mx}));
  } else if (t == "ReduceSumSquare" || t == "ReduceL2") {
    TRY_ASSIGN(Entry sq, n.emit(OpKind::Mul, {x, x}));
    TRY_ASSIGN(y, n.reduce(OpKind::ReduceSum, sq, all, keep));
    if (t == "ReduceL2") {
      TRY_ASSIGN(y, n.emit(OpKind::Sqrt, {y}));
    }
  } else if (t == "ReduceL1") {
    TRY_ASSIGN(Entry ab, n.emit(OpKind::Abs, {x}));
    TRY_ASSIGN(y, n.reduce(OpKind::ReduceSum, ab, all, keep));
  } else if (t == "ReduceLogSum") {
    TRY_ASSIGN(Entry s, n.reduce(OpKind::ReduceSum, x, all, keep));
    TRY_ASSIGN(y, n.emit(OpKind::Log, {s}));
  } else {  // ReduceLogSumExp, shifted by the maximum so large inputs do not overflow
    TRY_ASSIGN(Entry mk, n.reduce(OpKind::ReduceMax, x, all, true));
    TRY_ASSIGN(Entry d, n.emit(OpKind::Sub, {x, mk}));
    TRY_ASSIGN(Entry e, n.emit(OpKind::Exp, {d}));
    TRY_ASSIGN(Entry s, n.reduce(OpKind::ReduceSum, e, all, keep));
    TRY_ASSIGN(Entry l, n.emit(OpKind::Log, {s}));
    TRY_ASSIGN(Entry m, n.reduce(OpKind::ReduceMax, x, all, keep));
    TRY_ASSIGN(y, n.emit(OpKind::Add, {l, m}));
  }
  return n.setOutput(0, std::move(y));
}

Status convertCumSum(NodeContext& n) {
  TRY(n.expectInputs(2, 2));
  TRY(n.allowAttrs({"exclusive", "reverse"}));
  TRY_ASSIGN(Entry x, n.input(0));
  TRY_ASSIGN(std::vector<int64_t> a, n.intsInput(1, "axis"));
  if (a.size() != 1) return n.error("axis must be a scalar");
  TRY_ASSIGN(int axis, n.axis(a[0], x.type.rank(), "axis"));
  TRY_ASSIGN(int64_t exclusive, n.attrInt("exclusive", 0));
  TRY_ASSIGN(int64_t reverse, n.attrInt("reverse", 0));
  TRY_ASSIGN(Entry y, n.emit(OpKind::Cumsum, {x},
                             {{"axis", int64_t{axis}},
                              {"exclusive", exclusive != 0},
                              {"reverse", reverse != 0}}));
  return n.setOutput(0, std::move(y));
}

Status convertArgMax(NodeContext& n) {
  TRY(n.expectInputs(1, 1));
  TRY(n.allowAttrs({"axis", "keepdims", "select_last_index"}));
  TRY_ASSIGN(Entry x, n.input(0));
  TRY_ASSIGN(int64_t a, n.attrInt("axis", 0));
  TRY_ASSIGN(int64_t keepdims, n.attrInt("keepdims", 1));
  TRY_ASSIGN(int64_t last, n.attrInt("select_last_index", 0));
  if (last) return n.unsupported("select_last_index=1 (Tessera's argmax picks the first)");
  TRY_ASSIGN(int axis, n.axis(a, x.type.rank(), "axis"));
  if (n.node.op_type() == "ArgMin") {  // the first minimum is the first maximum of -x
    if (!ir::isFloat(x.type.dtype) && x.type.dtype != DType::I64 && x.type.dtype != DType::I32)
      return n.error("input must be numeric, got " + x.type.str());
    TRY_ASSIGN(x, n.emit(OpKind::Neg, {x}));
  }
  TRY_ASSIGN(Entry y, n.emit(OpKind::Argmax, {x},
                             {{"axis", int64_t{axis}}, {"keepdims", keepdims != 0}}));
  return n.setOutput(0, std::move(y));
}

// Trilu keeps x[..., i, j] where j - i >= k (upper) or j - i <= k (lower), else 0.
Status convertTrilu(NodeContext& n) {
  TRY(n.expectInputs(1, 2));
  TRY(n.allowAttrs({"upper"}));
  TRY_ASSIGN(Entry x, n.input(0));
  TRY_ASSIGN(int64_t upper, n.attrInt("upper", 1));
  int64_t k = 0;
  if (n.hasInput(1)) {
    TRY_ASSIGN(std::vector<int64_t> kv, n.intsInput(1, "k"));
    if (kv.size() != 1) return n.error("k must be a scalar");
    k = kv[0];
  }
  int r = x.type.rank();
  if (r < 2) return n.error("input must have rank >= 2, got " + x.type.str());
  TensorType grid{DType::I64, {x.type.shape[r - 2], x.type.shape[r - 1]}};
  TRY_ASSIGN(Entry row, n.emit(OpKind::Iota, {}, {{"dim", int64_t{0}}}, {grid}));
  TRY_ASSIGN(Entry col, n.emit(OpKind::Iota, {}, {{"dim", int64_t{1}}}, {grid}));
  TRY_ASSIGN(Entry diff, n.emit(OpKind::Sub, {col, row}));
  TRY_ASSIGN(Entry kk, n.constScalar(static_cast<double>(k), DType::I64));
  TRY_ASSIGN(Entry mask, n.compare(diff, kk, upper ? CompareDir::Ge : CompareDir::Le));
  TRY_ASSIGN(Entry zero, n.constScalar(0, x.type.dtype));
  TRY_ASSIGN(Entry y, n.emit(OpKind::Select, {mask, x, zero}));
  return n.setOutput(0, std::move(y));
}

}  // namespace tessera::frontend::onnximport
