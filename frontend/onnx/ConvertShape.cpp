// Converters of the ONNX ops that create tensors or move data: Constant, ConstantOfShape, Shape,
// Size, Reshape, Flatten, Unsqueeze, Squeeze, Transpose, Expand, Concat, Split, Slice, Gather,
// Range.
//
// Wherever ONNX takes a shape, axes or bounds as an input tensor, the input must be known at
// import time: a constant or a shape value folded from Shape (ImportContext.h). Such values may
// be symbolic (B, S), and the ops on them (Gather, Concat, Slice, Unsqueeze, ...) are computed on
// the Dims directly, so a torch export's `x.view(B, S, heads, -1)` becomes a reshape to
// [B,S,12,64] with no run-time shape arithmetic.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "frontend/onnx/Converters.h"
#include "frontend/onnx/OnnxTensor.h"

namespace tessera::frontend::onnximport {

using ir::Dim;
using ir::DType;
using ir::OpKind;
using ir::Shape;
using ir::TensorType;

namespace {

// A shape from the file (a Reshape target, ConstantOfShape's shape) is checked before any Dim
// arithmetic on it: no negative dims, and the product of its constant dims must stay far from
// int64 overflow (2^50; such shapes are not allocated at import, so planning-size models pass).
Status checkShapeSize(NodeContext& n, const Shape& shape, const std::string& what) {
  int64_t product = 1;
  for (const Dim& d : shape) {
    auto c = d.constant();
    if (!c) continue;
    if (*c < 0) return n.error(what + " has a negative dim " + std::to_string(*c));
    if (__builtin_mul_overflow(product, *c, &product) || product > (int64_t{1} << 50))
      return n.error(what + " " + ir::shapeStr(shape) + " is too large (more than 2^50 elements)");
  }
  return Status::ok();
}

// Huge constants (INT64_MAX "to the end" bounds) are treated as "beyond any dim".
constexpr int64_t kHuge = int64_t{1} << 40;

// The indices a Slice with constant bounds selects along a dim of constant size `d`.
std::vector<int64_t> sliceIndices(int64_t d, int64_t start, int64_t end, int64_t step) {
  if (d == 0) return {};
  if (start < 0) start += d;
  if (end < 0) end += d;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, d);
    end = std::clamp<int64_t>(end, 0, d);
  } else {
    start = std::clamp<int64_t>(start, 0, d - 1);
    end = std::clamp<int64_t>(end, -1, d - 1);
  }
  std::vector<int64_t> out;
  for (int64_t i = start; step > 0 ? i < end : i > end; i += step) out.push_back(i);
  return out;
}

// A slice bound against a possibly symbolic dim, for a positive step: negative values count
// from the end, huge ones clamp to the dim.
Dim sliceBound(const Dim& bound, const Dim& dim) {
  auto c = bound.constant();
  if (!c) return bound;
  auto d = dim.constant();
  if (d) {
    int64_t v = *c < 0 ? *c + *d : *c;
    return Dim(std::clamp<int64_t>(v, 0, *d));
  }
  if (*c >= kHuge) return dim;
  if (*c <= -kHuge) return Dim(0);
  if (*c < 0) return dim + Dim(*c);
  return bound;
}

}  // namespace

Status convertConstant(NodeContext& n) {
  TRY(n.expectInputs(0, 0));
  if (n.node.attribute_size() != 1)
    return n.error("needs exactly one value attribute, got " +
                   std::to_string(n.node.attribute_size()));
  const onnx::AttributeProto& a = n.node.attribute(0);
  const std::string& name = a.name();
  if (name == "value") {
    if (a.type() != onnx::AttributeProto::TENSOR)
      return n.error("attribute 'value' must be a TENSOR");
    StatusOr<DecodedTensor> t = decodeTensor(a.t(), n.label() + " attribute 'value'", n.ic.file,
                                             n.ic.baseDir);
    if (!t.isOk()) return t.status();
    return n.setOutput(0, constantEntry(std::move(t->tensor), &t->ints));
  }
  if (name == "value_float") {
    TRY_ASSIGN(double v, n.attrFloat(name, 0));
    return n.setOutput(0, constantEntry(ir::Tensor::scalar(DType::F32, v)));
  }
  if (name == "value_int") {
    TRY_ASSIGN(int64_t v, n.attrInt(name, 0));
    std::vector<int64_t> exact{v};
    return n.setOutput(0, constantEntry(ir::Tensor::scalar(DType::I64, static_cast<double>(v)),
                                        &exact));
  }
  if (name == "value_floats") {
    if (a.type() != onnx::AttributeProto::FLOATS)
      return n.error("attribute 'value_floats' must be FLOATS");
    std::vector<double> v(a.floats().begin(), a.floats().end());
    int64_t len = static_cast<int64_t>(v.size());
    return n.setOutput(0, constantEntry(ir::Tensor(DType::F32, {len}, std::move(v))));
  }
  if (name == "value_ints") {
    if (a.type() != onnx::AttributeProto::INTS)
      return n.error("attribute 'value_ints' must be INTS");
    std::vector<int64_t> ints(a.ints().begin(), a.ints().end());
    std::vector<double> v(ints.begin(), ints.end());
    int64_t len = static_cast<int64_t>(v.size());
    return n.setOutput(0, constantEntry(ir::Tensor(DType::I64, {len}, std::move(v)), &ints));
  }
  return n.unsupported("constant attribute '" + name + "' is not supported");
}

Status convertConstantOfShape(NodeContext& n) {
  TRY(n.expectInputs(1, 1));
  TRY(n.allowAttrs({"value"}));
  TRY_ASSIGN(std::vector<Dim> dims, n.dimsInput(0, "shape"));
  DType dtype = DType::F32;
  double value = 0;
  if (const onnx::AttributeProto* a = n.attr("value")) {
    if (a->type() != onnx::AttributeProto::TENSOR)
      return n.error("attribute 'value' must be a TENSOR");
    StatusOr<DecodedTensor> t = decodeTensor(a->t(), n.label() + " attribute 'value'", n.ic.file,
                                             n.ic.baseDir);
    if (!t.isOk()) return t.status();
    if (t->tensor.numElements() != 1)
      return n.error("attribute 'value' must have one element, got shape " +
                     t->tensor.shapeStr());
    dtype = t->tensor.dtype();
    value = t->tensor[0];
  }
  Shape shape(dims.begin(), dims.end());
  TRY(checkShapeSize(n, shape, "the shape"));
  TRY_ASSIGN(Entry y, n.emit(OpKind::Full, {}, {{"value", value}}, {TensorType{dtype, shape}}));
  return n.setOutput(0, std::move(y));
}

Status convertShape(NodeContext& n) {
  TRY(n.expectInputs(1, 1));
  TRY(n.allowAttrs({"start", "end"}));
  TRY_ASSIGN(Entry x, n.input(0));
  int64_t r = x.type.rank();
  TRY_ASSIGN(int64_t start, n.attrInt("start", 0));
  TRY_ASSIGN(int64_t end, n.attrInt("end", r));
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, 0, r);
  std::vector<Dim> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(x.type.shape[i]);
  return n.setOutput(0, dimsEntry(std::move(dims), false));
}

Status convertSize(NodeContext& n) {
  TRY(n.expectInputs(1, 1));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry x, n.input(0));
  return n.setOutput(0, dimsEntry({x.type.numElements()}, true));
}

Status convertReshape(NodeContext& n) {
  TRY(n.expectInputs(2, 2));
  TRY(n.allowAttrs({"allowzero"}));
  TRY_ASSIGN(Entry x, n.input(0));
  TRY_ASSIGN(std::vector<Dim> target, n.dimsInput(1, "shape"));
  TRY_ASSIGN(int64_t allowZero, n.attrInt("allowzero", 0));
  Shape checkedTarget;
  for (const Dim& d : target)
    if (d != Dim(-1)) checkedTarget.push_back(d);
  TRY(checkShapeSize(n, checkedTarget, "the target shape"));
  Shape out;
  int inferred = -1;
  Dim known(1);
  for (size_t i = 0; i < target.size(); ++i) {
    auto c = target[i].constant();
    if (c && *c == 0 && !allowZero) {
      if (static_cast<int>(i) >= x.type.rank())
        return n.error("shape entry " + std::to_string(i) + " is 0 (copy the input dim) but " +
                       "the input " + x.type.str() + " has no dim " + std::to_string(i));
      out.push_back(x.type.shape[i]);
    } else if (c && *c == -1) {
      if (inferred >= 0) return n.error("shape has more than one -1");
      inferred = static_cast<int>(i);
      out.push_back(Dim(1));
      continue;
    } else if (c && *c < -1) {
      return n.error("shape entry " + std::to_string(i) + " is " + std::to_string(*c));
    } else {
      out.push_back(target[i]);
    }
    known = known * out.back();
  }
  if (inferred >= 0) {
    auto q = divideExact(x.type.numElements(), known);
    if (!q)
      return n.error("cannot infer the -1 dim: " + x.type.numElements().str() +
                     " elements are not a multiple of " + known.str());
    out[inferred] = *q;
  }
  TRY(checkShapeSize(n, out, "the target shape"));
  TRY_ASSIGN(Entry y, n.reshape(x, std::move(out)));
  return n.setOutput(0, std::move(y));
}

Status convertFlatten(NodeContext& n) {
  TRY(n.expectInputs(1, 1));
  TRY(n.allowAttrs({"axis"}));
  TRY_ASSIGN(Entry x, n.input(0));
  TRY_ASSIGN(int64_t a, n.attrInt("axis", 1));
  int r = x.type.rank();
  if (a < -r || a > r) return n.error("axis " + std::to_string(a) + " is out of range");
  if (a < 0) a += r;
  Dim outer(1), inner(1);
  for (int i = 0; i < r; ++i) (i < a ? outer : inner) = (i < a ? outer : inner) * x.type.shape[i];
  TRY_ASSIGN(Entry y, n.reshape(x, {outer, inner}));
  return n.setOutput(0, std::move(y));
}

Status convertUnsqueeze(NodeContext& n) {
  TRY(n.expectInputs(2, 2));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry x, n.input(0));
  TRY_ASSIGN(std::vector<int64_t> axes, n.intsInput(1, "axes"));
  int outRank = x.type.rank() + static_cast<int>(axes.size());
  std::vector<bool> inserted(outRank, false);
  for (int64_t a : axes) {
    TRY_ASSIGN(int ax, n.axis(a, outRank, "axis"));
    if (inserted[ax]) return n.error("axes name dim " + std::to_string(ax) + " twice");
    inserted[ax] = true;
  }
  Shape out;
  int next = 0;
  for (int i = 0; i < outRank; ++i) out.push_back(inserted[i] ? Dim(1) : x.type.shape[next++]);
  TRY_ASSIGN(Entry y, n.reshape(x, std::move(out)));
  return n.setOutput(0, std::move(y));
}

Status convertSqueeze(NodeContext& n) {
  TRY(n.expectInputs(1, 2));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry x, n.input(0));
  int r = x.type.rank();
  std::vector<bool> drop(r, false);
  if (n.hasInput(1)) {
    TRY_ASSIGN(std::vector<int64_t> axes, n.intsInput(1, "axes"));
    for (int64_t a : axes) {
      TRY_ASSIGN(int ax, n.axis(a, r, "axis"));
      if (x.type.shape[ax] != Dim(1))
        return n.error("cannot squeeze dim " + std::to_string(ax) + " of " + x.type.str() +
                       ": it is not 1");
      drop[ax] = true;
    }
  } else {
    for (int i = 0; i < r; ++i) drop[i] = x.type.shape[i] == Dim(1);
  }
  Shape out;
  for (int i = 0; i < r; ++i)
    if (!drop[i]) out.push_back(x.type.shape[i]);
  TRY_ASSIGN(Entry y, n.reshape(x, std::move(out)));
  return n.setOutput(0, std::move(y));
}

Status convertTranspose(NodeContext& n) {
  TRY(n.expectInputs(1, 1));
  TRY(n.allowAttrs({"perm"}));
  TRY_ASSIGN(Entry x, n.input(0));
  TRY_ASSIGN(auto perm, n.attrInts("perm"));
  std::vector<int64_t> p;
  if (perm) {
    p = *perm;
  } else {
    for (int i = x.type.rank() - 1; i >= 0; --i) p.push_back(i);
  }
  TRY_ASSIGN(Entry y, n.transpose(x, std::move(p)));
  return n.setOutput(0, std::move(y));
}

Status convertExpand(NodeContext& n) {
  TRY(n.expectInputs(2, 2));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry x, n.input(0));
  TRY_ASSIGN(std::vector<Dim> target, n.dimsInput(1, "shape"));
  auto shape = broadcastShape(x.type.shape, Shape(target.begin(), target.end()));
  if (!shape)
    return n.error("cannot expand " + x.type.str() + " to the shape " +
                   ir::shapeStr(Shape(target.begin(), target.end())));
  TRY(checkShapeSize(n, *shape, "the expanded shape"));
  TRY_ASSIGN(Entry y, n.broadcastTo(x, *shape));
  return n.setOutput(0, std::move(y));
}

Status convertConcat(NodeContext& n) {
  TRY(n.allowAttrs({"axis"}));
  if (n.numInputs() < 1) return n.error("expects at least one input");
  if (!n.attr("axis")) return n.error("attribute 'axis' is required");
  TRY_ASSIGN(int64_t axis, n.attrInt("axis", 0));
  std::vector<Entry> inputs;
  for (int i = 0; i < n.numInputs(); ++i) {
    TRY_ASSIGN(Entry e, n.input(i));
    inputs.push_back(std::move(e));
  }
  bool allDims = true;
  for (const Entry& e : inputs)
    allDims = allDims && e.dims && e.type.rank() == 1 && e.type.dtype == inputs[0].type.dtype;
  if (allDims && (axis == 0 || axis == -1)) {
    std::vector<Dim> out;
    for (const Entry& e : inputs) out.insert(out.end(), e.dims->begin(), e.dims->end());
    return n.setOutput(0, dimsEntry(std::move(out), false, inputs[0].type.dtype));
  }
  TRY_ASSIGN(Entry y, n.emit(OpKind::Concat, inputs, {{"axis", axis}}));
  return n.setOutput(0, std::move(y));
}

Status convertSplit(NodeContext& n) {
  TRY(n.expectInputs(1, 2));
  TRY(n.allowAttrs({"axis"}));
  TRY_ASSIGN(Entry x, n.input(0));
  TRY_ASSIGN(int64_t a, n.attrInt("axis", 0));
  TRY_ASSIGN(int axis, n.axis(a, x.type.rank(), "axis"));
  int parts = n.numOutputs();
  if (parts < 1) return n.error("has no outputs");
  const Dim& dim = x.type.shape[axis];
  std::vector<Dim> sizes;
  if (n.hasInput(1)) {
    TRY_ASSIGN(std::vector<int64_t> split, n.intsInput(1, "split"));
    if (static_cast<int>(split.size()) != parts)
      return n.error("split has " + std::to_string(split.size()) + " sizes for " +
                     std::to_string(parts) + " outputs");
    Dim total(0);
    for (int64_t s : split) {
      if (s < 0 || s > kHuge) return n.error("split size " + std::to_string(s) + " is invalid");
      sizes.push_back(Dim(s));
      total = total + Dim(s);
    }
    if (total != dim)
      return n.error("split sizes add up to " + total.str() + " but dim " +
                     std::to_string(axis) + " of " + x.type.str() + " is " + dim.str());
  } else {
    auto q = divideExact(dim, Dim(parts));
    if (!q)
      return n.unsupported("dim " + std::to_string(axis) + " of " + x.type.str() +
                           " does not split evenly into " + std::to_string(parts) + " parts");
    sizes.assign(parts, *q);
  }
  Dim offset(0);
  for (int i = 0; i < parts; ++i) {
    std::vector<Dim> start(x.type.rank(), Dim(0));
    std::vector<Dim> limit(x.type.shape.begin(), x.type.shape.end());
    start[axis] = offset;
    offset = offset + sizes[i];
    limit[axis] = offset;
    TRY_ASSIGN(Entry y, n.emit(OpKind::Slice, {x}, {{"start", start}, {"limit", limit}}));
    TRY(n.setOutput(i, std::move(y)));
  }
  return Status::ok();
}

Status convertSlice(NodeContext& n) {
  TRY(n.expectInputs(3, 5));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry x, n.input(0));
  TRY_ASSIGN(std::vector<Dim> starts, n.dimsInput(1, "starts"));
  TRY_ASSIGN(std::vector<Dim> ends, n.dimsInput(2, "ends"));
  int r = x.type.rank();
  std::vector<int64_t> axes(starts.size()), steps(starts.size(), 1);
  std::iota(axes.begin(), axes.end(), 0);
  if (n.hasInput(3)) {
    TRY_ASSIGN(axes, n.intsInput(3, "axes"));
  }
  if (n.hasInput(4)) {
    TRY_ASSIGN(steps, n.intsInput(4, "steps"));
  }
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return n.error("starts, ends, axes and steps must have the same length");
  std::vector<Dim> start(r, Dim(0));
  std::vector<Dim> limit(x.type.shape.begin(), x.type.shape.end());
  std::vector<int64_t> stride(r, 1);
  std::vector<bool> seen(r, false);
  // Axes with a negative step become a gather of constant indices (Tessera slices step forward).
  std::vector<std::pair<int, std::vector<int64_t>>> reversed;
  for (size_t i = 0; i < axes.size(); ++i) {
    TRY_ASSIGN(int ax, n.axis(axes[i], r, "axis"));
    if (seen[ax]) return n.error("axes name dim " + std::to_string(ax) + " twice");
    seen[ax] = true;
    int64_t step = steps[i];
    if (step == 0) return n.error("step 0 on axis " + std::to_string(ax));
    const Dim& dim = x.type.shape[ax];
    if (step < 0) {
      auto d = dim.constant();
      auto s = starts[i].constant();
      auto e = ends[i].constant();
      if (!d || !s || !e)
        return n.unsupported("a negative step needs a constant dim and constant bounds");
      reversed.emplace_back(ax, sliceIndices(*d, *s, *e, step));
      continue;
    }
    start[ax] = sliceBound(starts[i], dim);
    limit[ax] = sliceBound(ends[i], dim);
    stride[ax] = step;
    if (auto s = start[ax].constant(), l = limit[ax].constant(); s && l && *l < *s)
      limit[ax] = start[ax];  // an empty slice
  }
  if (x.dims && r == 1 && !x.isConstant()) {
    // Slicing a shape value: pick its Dims.
    const auto& d = *x.dims;
    auto s = start[0].constant(), l = limit[0].constant();
    if (!s || !l || !reversed.empty())
      return n.unsupported("slice of a shape value needs constant bounds");
    std::vector<Dim> out;
    for (int64_t j = *s; j < *l; j += stride[0]) out.push_back(d[j]);
    return n.setOutput(0, dimsEntry(std::move(out), false, x.type.dtype));
  }
  Entry y = x;
  bool identity = true;
  for (int i = 0; i < r; ++i)
    identity = identity && start[i] == Dim(0) && limit[i] == x.type.shape[i] && stride[i] == 1;
  if (!identity) {
    bool stridedSymbolic = false;
    for (int i = 0; i < r; ++i)
      if (stride[i] != 1 && !(limit[i] - start[i]).constant()) stridedSymbolic = true;
    if (stridedSymbolic)
      return n.unsupported("a step > 1 over a symbolic extent is not supported");
    std::vector<std::pair<std::string, ir::AttrValue>> attrs = {{"start", start},
                                                                {"limit", limit}};
    if (std::any_of(stride.begin(), stride.end(), [](int64_t s) { return s != 1; }))
      attrs.push_back({"stride", stride});
    TRY_ASSIGN(y, n.emit(OpKind::Slice, {x}, std::move(attrs)));
  }
  for (auto& [ax, idx] : reversed) {
    std::vector<double> v(idx.begin(), idx.end());
    Entry ie = constantEntry(ir::Tensor(DType::I64, {static_cast<int64_t>(v.size())}, v));
    TRY_ASSIGN(y, n.emit(OpKind::Gather, {y, ie}, {{"axis", int64_t{ax}}}));
  }
  return n.setOutput(0, std::move(y));
}

Status convertGather(NodeContext& n) {
  TRY(n.expectInputs(2, 2));
  TRY(n.allowAttrs({"axis"}));
  TRY_ASSIGN(Entry data, n.input(0));
  TRY_ASSIGN(Entry idx, n.input(1));
  TRY_ASSIGN(int64_t a, n.attrInt("axis", 0));
  if (data.type.rank() == 0) return n.error("data must have rank >= 1");
  TRY_ASSIGN(int axis, n.axis(a, data.type.rank(), "axis"));
  if (!ir::isInteger(idx.type.dtype))
    return n.error("indices must be an integer tensor, got " + idx.type.str());
  const Dim& dim = data.type.shape[axis];
  auto d = dim.constant();
  if (idx.isConstant()) {
    // Constant indices: wrap negative ones now, and check the range when the dim is known.
    std::vector<double> v = idx.constant->data();
    for (double& i : v) {
      if (i < 0) {
        if (!d) return n.unsupported("a negative index into the symbolic dim " + dim.str());
        i += static_cast<double>(*d);
      }
      if (i < 0 || (d && i >= static_cast<double>(*d)))
        return n.error("index " + std::to_string(static_cast<int64_t>(i)) +
                       " is out of range for dim " + std::to_string(axis) + " of " +
                       data.type.str());
    }
    if (data.dims && data.type.rank() == 1 && !data.isConstant() && idx.type.rank() <= 1) {
      std::vector<Dim> out;
      for (double i : v) out.push_back((*data.dims)[static_cast<size_t>(i)]);
      return n.setOutput(0, dimsEntry(std::move(out), idx.type.rank() == 0, data.type.dtype));
    }
    idx = constantEntry(ir::Tensor(idx.type.dtype, idx.constant->shape(), std::move(v)));
  } else if (d && !(idx.value && idx.value->definingOp() &&
                     idx.value->definingOp()->kind() == OpKind::Iota)) {
    // Run-time indices: ONNX counts negative ones from the end (positions made by iota, as for
    // Range-based position ids, are never negative).
    TRY_ASSIGN(Entry zero, n.constScalar(0, idx.type.dtype));
    TRY_ASSIGN(Entry len, n.constScalar(static_cast<double>(*d), idx.type.dtype));
    TRY_ASSIGN(Entry neg, n.compare(idx, zero, ir::CompareDir::Lt));
    TRY_ASSIGN(Entry wrapped, n.emit(OpKind::Add, {idx, len}));
    TRY_ASSIGN(idx, n.emit(OpKind::Select, {neg, wrapped, idx}));
  }
  TRY_ASSIGN(Entry y, n.emit(OpKind::Gather, {data, idx}, {{"axis", int64_t{axis}}}));
  return n.setOutput(0, std::move(y));
}

Status convertRange(NodeContext& n) {
  TRY(n.expectInputs(3, 3));
  TRY(n.allowAttrs({}));
  TRY_ASSIGN(Entry start, n.input(0));
  TRY_ASSIGN(Entry limit, n.input(1));
  TRY_ASSIGN(Entry delta, n.input(2));
  DType dtype = start.type.dtype;
  if (limit.type.dtype != dtype || delta.type.dtype != dtype)
    return n.error("start, limit and delta must have the same element type");
  for (const Entry* e : {&start, &limit, &delta})
    if (e->type.rank() != 0) return n.error("start, limit and delta must be scalars");
  if (start.isConstant() && limit.isConstant() && delta.isConstant()) {
    double s = (*start.constant)[0], l = (*limit.constant)[0], dl = (*delta.constant)[0];
    if (dl == 0) return n.error("delta is 0");
    double count = std::max(std::ceil((l - s) / dl), 0.0);
    if (!(count <= static_cast<double>(kMaxTensorElements)))
      return n.error("the range has too many elements");
    auto len = static_cast<int64_t>(count);
    std::vector<double> v(len);
    for (int64_t i = 0; i < len; ++i) v[i] = s + static_cast<double>(i) * dl;
    return n.setOutput(0, constantEntry(ir::Tensor(dtype, {len}, std::move(v))));
  }
  // A symbolic bound (torch.arange(T) for positions): delta 1, so the length is a Dim.
  if (!start.dims || !limit.dims || !delta.dims)
    return n.unsupported("Range bounds must be known at import time");
  auto dl = delta.constInts();
  if (!dl || (*dl)[0] != 1) return n.unsupported("a symbolic Range needs delta 1");
  Dim len = (*limit.dims)[0] - (*start.dims)[0];
  TRY_ASSIGN(Entry iota, n.emit(OpKind::Iota, {}, {{"dim", int64_t{0}}},
                                {TensorType{dtype, {len}}}));
  if (start.isConstant() && (*start.constant)[0] == 0) return n.setOutput(0, std::move(iota));
  TRY_ASSIGN(Entry y, n.emit(OpKind::Add, {iota, start}));
  return n.setOutput(0, std::move(y));
}

}  // namespace tessera::frontend::onnximport
