// Op-by-op translation of fused groups into kernel instructions (see KernelEmitter.h).
#include "codegen/fusion/KernelEmitter.h"

#include <cassert>
#include <cstdio>

#include "ir/Op.h"

namespace tessera::codegen {

using ir::OpKind;

ScalarType scalarTypeOf(ir::DType t) {
  switch (t) {
    case ir::DType::F32: return ScalarType::F32;
    case ir::DType::F64: return ScalarType::F64;
    case ir::DType::I32: return ScalarType::I32;
    case ir::DType::I64: return ScalarType::I64;
    case ir::DType::Bool: return ScalarType::Bool;
    default: assert(false && "no kernel scalar type for this dtype"); return ScalarType::F32;
  }
}

namespace {
bool isOne(const ir::Dim& d) { return d == ir::Dim(1); }
}  // namespace

KernelEmitter::KernelEmitter(std::string name, std::vector<ir::Dim> outer, ir::Dim cols,
                             ViewFn viewOf, LeafFn isLeaf)
    : outer_(std::move(outer)), cols_(std::move(cols)), viewOf_(std::move(viewOf)),
      isLeaf_(std::move(isLeaf)) {
  desc_.name = std::move(name);
  desc_.outerRank = static_cast<int>(outer_.size());
}

int KernelEmitter::add(Instr in) {
  // Track per-row values as validate() will infer them (KernelDesc.h's level rules).
  bool row = true;
  switch (in.kind) {
    case InstrKind::Load: row = desc_.inputs[in.buffer].inner == InnerAccess::Broadcast; break;
    case InstrKind::Const: case InstrKind::Reduce: row = true; break;
    case InstrKind::Coord: row = in.dim < outerRank(); break;
    default:
      for (int a : in.args) row = row && rowLevel_[a];
  }
  rowLevel_.push_back(row);
  desc_.body.push_back(std::move(in));
  return static_cast<int>(desc_.body.size()) - 1;
}

int KernelEmitter::alwaysTrue() {
  // j == j: depends on the inner coordinate, so it is per-element.
  Instr j;
  j.kind = InstrKind::Coord;
  j.type = ScalarType::I64;
  j.dim = outerRank();
  int jj = add(j);
  Instr eq;
  eq.kind = InstrKind::Compare;
  eq.type = ScalarType::Bool;
  eq.compare = CompareFn::Eq;
  eq.args = {jj, jj};
  return add(eq);
}

int KernelEmitter::elementLevel(int x) {
  if (!rowLevel_[x]) return x;
  // A reduction reads one value per element: select on an always-true, per-element condition.
  Instr sel;
  sel.kind = InstrKind::Select;
  sel.type = desc_.body[x].type;
  sel.args = {alwaysTrue(), x, x};
  return add(sel);
}

int KernelEmitter::constant(double v, ScalarType t) {
  Instr in;
  in.kind = InstrKind::Const;
  in.type = t;
  in.constant = v;
  return add(in);
}

int KernelEmitter::cast(int x, ScalarType from, ScalarType to) {
  if (from == to) return x;
  Instr in;
  in.kind = InstrKind::Cast;
  in.type = to;
  in.args = {x};
  return add(in);
}

int KernelEmitter::unary(UnaryFn f, int x, ScalarType t) {
  Instr in;
  in.kind = InstrKind::Unary;
  in.type = t;
  in.unary = f;
  in.args = {x};
  return add(in);
}

int KernelEmitter::binary(BinaryFn f, int a, int b, ScalarType t) {
  Instr in;
  in.kind = InstrKind::Binary;
  in.type = t;
  in.binary = f;
  in.args = {a, b};
  return add(in);
}

int KernelEmitter::reduce(ReduceFn f, int x, ScalarType t) {
  Instr in;
  in.kind = InstrKind::Reduce;
  in.type = t;
  in.reduce = f;
  in.args = {x};
  return add(in);
}

int KernelEmitter::colsAsValue(ScalarType t) {
  if (std::optional<int64_t> c = cols_.constant()) return constant(static_cast<double>(*c), t);
  // A symbolic row length: count the row (exact below 2^24 in f32).
  int one = cast(alwaysTrue(), ScalarType::Bool, t);
  return reduce(ReduceFn::Sum, one, t);
}

std::vector<int> KernelEmitter::spaceMap(const ir::Shape& s) const {
  int k = outerRank();
  std::vector<int> map(s.size(), -1);
  for (size_t d = 0; d < s.size(); ++d) {
    int loop = static_cast<int>(d);
    if (loop > k) continue;
    const ir::Dim& extent = loop < k ? outer_[loop] : cols_;
    map[d] = (isOne(s[d]) && !isOne(extent)) ? -1 : loop;
  }
  return map;
}

std::vector<int> KernelEmitter::broadcastMap(const ir::Shape& operand, const ir::Shape& result,
                                             const std::vector<int>& resultMap) const {
  size_t l = operand.size(), r = result.size();
  assert(l <= r);
  std::vector<int> map(l, -1);
  for (size_t d = 0; d < l; ++d) {
    size_t rd = d + r - l;
    map[d] = (isOne(operand[d]) && !isOne(result[rd])) ? -1 : resultMap[rd];
  }
  return map;
}

int KernelEmitter::memberInstr(const ir::Value* v) const {
  auto it = members_.find(v);
  return it == members_.end() ? -1 : it->second;
}

int KernelEmitter::load(const BufferView& view, ir::DType t, const std::vector<int>& map) {
  int k = outerRank();
  std::vector<ir::Dim> strides(k + 1, ir::Dim(0));
  for (size_t d = 0; d < view.strides.size(); ++d)
    if (map[d] >= 0) strides[map[d]] = strides[map[d]] + view.strides[d];
  std::string key = std::to_string(view.buffer) + "@" + view.offset.str() + ":" +
                    std::string(ir::dtypeName(t));
  for (const ir::Dim& s : strides) key += "," + s.str();
  auto it = loadCache_.find(key);
  if (it != loadCache_.end()) return it->second;
  BufferDesc b;
  b.type = scalarTypeOf(t);
  b.name = "in" + std::to_string(desc_.inputs.size());
  if (strides[k] == ir::Dim(0)) b.inner = InnerAccess::Broadcast;
  else if (strides[k] == ir::Dim(1)) b.inner = InnerAccess::Contiguous;
  else b.inner = InnerAccess::Strided;
  desc_.inputs.push_back(b);
  BufferView v;
  v.buffer = view.buffer;
  v.offset = view.offset;
  v.strides = std::move(strides);
  inViews_.push_back(std::move(v));
  Instr in;
  in.kind = InstrKind::Load;
  in.type = b.type;
  in.buffer = static_cast<int>(desc_.inputs.size()) - 1;
  int id = add(in);
  loadCache_[key] = id;
  return id;
}

void KernelEmitter::store(int instr, const BufferView& dst, ir::DType t,
                          const std::vector<int>& map, const std::string& name) {
  int k = outerRank();
  std::vector<ir::Dim> strides(k + 1, ir::Dim(0));
  bool coversJ = false;
  for (size_t d = 0; d < dst.strides.size(); ++d)
    if (map[d] >= 0) {
      strides[map[d]] = strides[map[d]] + dst.strides[d];
      coversJ = coversJ || map[d] == k;
    }
  BufferDesc b;
  b.type = scalarTypeOf(t);
  b.name = name;
  if (!coversJ && !isOne(cols_)) b.inner = InnerAccess::Broadcast;
  else if (strides[k] == ir::Dim(1) || !coversJ) b.inner = InnerAccess::Contiguous;
  else b.inner = InnerAccess::Strided;
  if (!coversJ && isOne(cols_)) strides[k] = ir::Dim(1);
  desc_.outputs.push_back(b);
  BufferView v;
  v.buffer = dst.buffer;
  v.offset = dst.offset;
  v.strides = std::move(strides);
  v.write = true;
  outViews_.push_back(std::move(v));
  Instr in;
  in.kind = InstrKind::Store;
  in.type = b.type;
  in.args = {instr};
  in.buffer = -1 - static_cast<int>(desc_.outputs.size() - 1);  // fixed up in finish()
  add(in);
}

int KernelEmitter::value(const ir::Value* v, const std::vector<int>& map) {
  if (int m = memberInstr(v); m >= 0) return m;
  if (isLeaf_(v)) {
    auto key = std::make_pair(v, map);
    auto it = leafCache_.find(key);
    if (it != leafCache_.end()) return it->second;
    int id = emitOp(*v->definingOp(), map);
    leafCache_[key] = id;
    return id;
  }
  return load(viewOf_(v), v->type().dtype, map);
}

void KernelEmitter::emitMember(const ir::Op& op) {
  ir::Shape full = outer_;
  full.push_back(cols_);
  const ir::Shape& rs = op.result()->type().shape;
  std::vector<int> resultMap = spaceMap(rs);
  members_[op.result()] = emitOp(op, resultMap);
}

int KernelEmitter::emitOp(const ir::Op& op, const std::vector<int>& rmap) {
  const ir::Shape& rs = op.result()->type().shape;
  ir::DType rdt = op.result()->type().dtype;
  ScalarType t = scalarTypeOf(rdt);
  auto operand = [&](int i) {
    const ir::Value* v = op.operand(i);
    return value(v, broadcastMap(v->type().shape, rs, rmap));
  };
  auto coord = [&](int loop) {
    if (loop < 0) return constant(0, ScalarType::I64);
    Instr in;
    in.kind = InstrKind::Coord;
    in.type = ScalarType::I64;
    in.dim = loop;
    return add(in);
  };
  switch (op.kind()) {
    case OpKind::Neg: return unary(UnaryFn::Neg, operand(0), t);
    case OpKind::Abs: return unary(UnaryFn::Abs, operand(0), t);
    case OpKind::Exp: return unary(UnaryFn::Exp, operand(0), t);
    case OpKind::Log: return unary(UnaryFn::Log, operand(0), t);
    case OpKind::Sqrt: return unary(UnaryFn::Sqrt, operand(0), t);
    case OpKind::Rsqrt: return unary(UnaryFn::Rsqrt, operand(0), t);
    case OpKind::Tanh: return unary(UnaryFn::Tanh, operand(0), t);
    case OpKind::Sigmoid: return unary(UnaryFn::Sigmoid, operand(0), t);
    case OpKind::Relu: return unary(UnaryFn::Relu, operand(0), t);
    case OpKind::Silu: return unary(UnaryFn::Silu, operand(0), t);
    case OpKind::Erf: return unary(UnaryFn::Erf, operand(0), t);
    case OpKind::Sin: return unary(UnaryFn::Sin, operand(0), t);
    case OpKind::Cos: return unary(UnaryFn::Cos, operand(0), t);
    case OpKind::Gelu:
      return unary(op.enumAttr<ir::GeluApprox>("approximate", ir::GeluApprox::None) ==
                           ir::GeluApprox::Tanh
                       ? UnaryFn::GeluTanh
                       : UnaryFn::GeluErf,
                   operand(0), t);
    case OpKind::Add: return binary(BinaryFn::Add, operand(0), operand(1), t);
    case OpKind::Sub: return binary(BinaryFn::Sub, operand(0), operand(1), t);
    case OpKind::Mul: return binary(BinaryFn::Mul, operand(0), operand(1), t);
    case OpKind::Div: return binary(BinaryFn::Div, operand(0), operand(1), t);
    case OpKind::Pow: return binary(BinaryFn::Pow, operand(0), operand(1), t);
    case OpKind::Max: return binary(BinaryFn::Max, operand(0), operand(1), t);
    case OpKind::Min: return binary(BinaryFn::Min, operand(0), operand(1), t);
    case OpKind::Compare: {
      Instr in;
      in.kind = InstrKind::Compare;
      in.type = ScalarType::Bool;
      switch (op.enumAttr<ir::CompareDir>("dir", ir::CompareDir::Eq)) {
        case ir::CompareDir::Eq: in.compare = CompareFn::Eq; break;
        case ir::CompareDir::Ne: in.compare = CompareFn::Ne; break;
        case ir::CompareDir::Lt: in.compare = CompareFn::Lt; break;
        case ir::CompareDir::Le: in.compare = CompareFn::Le; break;
        case ir::CompareDir::Gt: in.compare = CompareFn::Gt; break;
        case ir::CompareDir::Ge: in.compare = CompareFn::Ge; break;
      }
      in.args = {operand(0), operand(1)};
      return add(in);
    }
    case OpKind::Select: {
      Instr in;
      in.kind = InstrKind::Select;
      in.type = t;
      in.args = {operand(0), operand(1), operand(2)};
      return add(in);
    }
    case OpKind::Cast:
      return cast(operand(0), scalarTypeOf(op.operand(0)->type().dtype), t);
    case OpKind::Full:
      return constant(ir::roundToDType(op.floatAttr("value"), rdt), t);
    case OpKind::Constant:
      return constant((*op.attrAs<ir::TensorAttr>("value").value)[0], t);
    case OpKind::Iota:
      return cast(coord(rmap[op.intAttr("dim")]), ScalarType::I64, t);
    case OpKind::OneHot: {
      const ir::Value* idx = op.operand(0);
      std::vector<int> imap(rmap.begin(), rmap.begin() + idx->type().rank());
      for (size_t d = 0; d < imap.size(); ++d)
        if (isOne(idx->type().shape[d]) && !isOne(rs[d])) imap[d] = -1;
      int i = cast(value(idx, imap), scalarTypeOf(idx->type().dtype), ScalarType::I64);
      Instr eq;
      eq.kind = InstrKind::Compare;
      eq.type = ScalarType::Bool;
      eq.compare = CompareFn::Eq;
      eq.args = {i, coord(rmap.back())};
      return cast(add(eq), ScalarType::Bool, t);
    }
    default: break;
  }
  // Row reductions and normalizations over the space (operand 0 covers it).
  const ir::Value* xv = op.operand(0);
  std::vector<int> full = spaceMap(xv->type().shape);
  int x = elementLevel(value(xv, full));
  ScalarType xt = scalarTypeOf(xv->type().dtype);
  switch (op.kind()) {
    case OpKind::ReduceSum: return reduce(ReduceFn::Sum, x, t);
    case OpKind::ReduceMax: return reduce(ReduceFn::Max, x, t);
    case OpKind::ReduceMean:
      return binary(BinaryFn::Div, reduce(ReduceFn::Sum, x, t), colsAsValue(t), t);
    case OpKind::Softmax:
    case OpKind::LogSoftmax: {
      int mx = reduce(ReduceFn::Max, x, xt);
      int shifted = binary(BinaryFn::Sub, x, mx, xt);
      int e = unary(UnaryFn::Exp, shifted, xt);
      int sum = reduce(ReduceFn::Sum, e, xt);
      if (op.kind() == OpKind::Softmax) return binary(BinaryFn::Div, e, sum, xt);
      return binary(BinaryFn::Sub, shifted, unary(UnaryFn::Log, sum, xt), xt);
    }
    case OpKind::LayerNorm:
    case OpKind::RmsNorm: {
      bool layer = op.kind() == OpKind::LayerNorm;
      double eps = op.floatAttr("eps", layer ? 1e-5 : 1e-6);
      int n = colsAsValue(xt);
      const ir::Shape& xs = xv->type().shape;
      int scale = value(op.operand(1), broadcastMap(op.operand(1)->type().shape, xs, full));
      int inv, centered;
      if (layer) {
        int mean = binary(BinaryFn::Div, reduce(ReduceFn::Sum, x, xt), n, xt);
        centered = binary(BinaryFn::Sub, x, mean, xt);
        int sq = binary(BinaryFn::Mul, centered, centered, xt);
        int var = binary(BinaryFn::Div, reduce(ReduceFn::Sum, sq, xt), n, xt);
        inv = unary(UnaryFn::Rsqrt, binary(BinaryFn::Add, var, constant(eps, xt), xt), xt);
      } else {
        centered = x;
        int sq = binary(BinaryFn::Mul, x, x, xt);
        int ms = binary(BinaryFn::Div, reduce(ReduceFn::Sum, sq, xt), n, xt);
        inv = unary(UnaryFn::Rsqrt, binary(BinaryFn::Add, ms, constant(eps, xt), xt), xt);
      }
      int y = binary(BinaryFn::Mul, binary(BinaryFn::Mul, centered, inv, xt), scale, xt);
      if (!layer) return y;
      int bias = value(op.operand(2), broadcastMap(op.operand(2)->type().shape, xs, full));
      return binary(BinaryFn::Add, y, bias, xt);
    }
    default: break;
  }
  assert(false && "op is not fusible");
  return -1;
}

Thunk KernelEmitter::finish(std::vector<KernelDesc>* kernels, const std::string& label,
                            Location loc) {
  int numIn = static_cast<int>(desc_.inputs.size());
  for (Instr& in : desc_.body)
    if (in.kind == InstrKind::Store) in.buffer = numIn + (-1 - in.buffer);
  std::string err = desc_.validate();
  if (!err.empty()) std::fprintf(stderr, "internal error: %s\n%s", err.c_str(), desc_.canonicalText().c_str());
  assert(err.empty() && "fusion built an invalid kernel");
  Thunk t;
  t.kind = ThunkKind::Kernel;
  t.label = label;
  t.loc = std::move(loc);
  t.kernel = static_cast<int>(kernels->size());
  t.views = inViews_;
  t.views.insert(t.views.end(), outViews_.begin(), outViews_.end());
  t.outer = outer_;
  t.cols = cols_;
  kernels->push_back(std::move(desc_));
  return t;
}

}  // namespace tessera::codegen
