// The factor rules of every op kind (SHARDING.md §2). Each rule reads the op's operand/result
// types and attributes and names the op's iteration dimensions ("factors"), mapping every operand
// and result dim to one of them or to none (-1: that dim must be whole on every device).
// partition/FactorRules.def assigns a rule to each op kind.
#include "partition/OpFactors.h"

#include <cassert>
#include <map>
#include <numeric>

#include "ir/Function.h"

namespace tessera::partition {

using ir::Dim;
using ir::Op;
using ir::OpKind;

namespace {

// Builds a FactorMap with operand/result dims initialised to -1.
struct Builder {
  FactorMap m;
  explicit Builder(const Op& op) {
    for (Value* v : op.operands()) m.operandDims.emplace_back(v->type().rank(), -1);
    for (int r = 0; r < op.numResults(); ++r)
      m.resultDims.emplace_back(op.result(r)->type().rank(), -1);
    m.operandLinear.assign(op.numOperands(), false);
  }
  using Value = ir::Value;
  int add(FactorKind k, std::string name, Dim size, bool evenOnly = false,
          std::optional<Dim> alsoDivides = std::nullopt) {
    m.factors.push_back(Factor{k, std::move(name), std::move(size), evenOnly, std::move(alsoDivides)});
    return static_cast<int>(m.factors.size()) - 1;
  }
};
using ir::Value;

const ir::Shape& opShape(const Op& op, int o) { return op.operand(o)->type().shape; }
const ir::Shape& resShape(const Op& op, int r = 0) { return op.result(r)->type().shape; }

StatusOr<int> axisOf(const Op& op, const char* attr, int rank, int64_t dflt = 0) {
  int64_t a = op.intAttr(attr, dflt);
  if (a < 0) a += rank;
  if (a < 0 || a >= rank)
    return Status::error(op.loc(), std::string(op.mnemonic()) + ": " + attr + " " +
                                       std::to_string(op.intAttr(attr, dflt)) +
                                       " out of range for rank " + std::to_string(rank));
  return static_cast<int>(a);
}

// One parallel factor per result dim; every operand aligned to the right (numpy broadcasting),
// a size-1 operand dim facing a larger result dim maps to nothing.
StatusOr<FactorMap> elementwiseRule(const Op& op) {
  Builder b(op);
  const ir::Shape& out = resShape(op);
  const int R = static_cast<int>(out.size());
  for (int d = 0; d < R; ++d) b.m.resultDims[0][d] = b.add(FactorKind::Parallel, "d" + std::to_string(d), out[d]);
  for (int o = 0; o < op.numOperands(); ++o) {
    const ir::Shape& s = opShape(op, o);
    const int r = static_cast<int>(s.size());
    if (r > R) return Status::error(op.loc(), std::string(op.mnemonic()) + ": operand rank exceeds result rank");
    for (int i = 0; i < r; ++i) {
      int d = R - r + i;
      b.m.operandDims[o][i] = (s[i] == Dim(1) && out[d] != Dim(1)) ? -1 : b.m.resultDims[0][d];
    }
  }
  // Linearity: which operand may carry a pending partial sum straight through.
  switch (op.kind()) {
    case OpKind::Neg: b.m.operandLinear = {true}; break;
    case OpKind::Add: case OpKind::Sub: b.m.operandLinear = {true, true}; break;  // both partial
    case OpKind::Mul: b.m.operandLinear = {true, true}; break;  // exactly one partial
    case OpKind::Div: b.m.operandLinear = {true, false}; break;  // numerator only
    case OpKind::Select: b.m.operandLinear = {false, true, true}; break;  // both branches partial
    case OpKind::Cast:
      b.m.operandLinear = {ir::isFloat(op.operand(0)->type().dtype) &&
                           ir::isFloat(op.result()->type().dtype)};
      break;
    default: break;
  }
  return b.m;
}

StatusOr<FactorMap> creationRule(const Op& op) {
  Builder b(op);
  const ir::Shape& out = resShape(op);
  for (size_t d = 0; d < out.size(); ++d)
    b.m.resultDims[0][d] = b.add(FactorKind::Parallel, "d" + std::to_string(d), out[d]);
  return b.m;
}

// sum → ReduceSum, max → ReduceMax, mean → ReduceSum (the local op divides by the global count).
StatusOr<FactorMap> reduceRule(const Op& op) {
  Builder b(op);
  const ir::Shape& in = opShape(op, 0);
  const int r = static_cast<int>(in.size());
  std::vector<bool> reduced(r, false);
  for (int64_t a : op.attrAs<std::vector<int64_t>>("axes")) {
    int64_t n = a < 0 ? a + r : a;
    if (n < 0 || n >= r) return Status::error(op.loc(), std::string(op.mnemonic()) + ": axis out of range");
    reduced[n] = true;
  }
  const FactorKind rk = op.kind() == OpKind::ReduceMax ? FactorKind::ReduceMax : FactorKind::ReduceSum;
  const bool keep = op.boolAttr("keepdims");
  int rd = 0;
  for (int d = 0; d < r; ++d) {
    if (reduced[d]) {
      b.m.operandDims[0][d] = b.add(rk, "r" + std::to_string(d), in[d]);
      if (keep) ++rd;  // size-1 kept dim maps to nothing
    } else {
      int f = b.add(FactorKind::Parallel, "d" + std::to_string(d), in[d]);
      b.m.operandDims[0][d] = f;
      b.m.resultDims[0][rd++] = f;
    }
  }
  b.m.operandLinear = {op.kind() != OpKind::ReduceMax};
  return b.m;
}

StatusOr<FactorMap> argmaxRule(const Op& op) {
  Builder b(op);
  const ir::Shape& in = opShape(op, 0);
  const int r = static_cast<int>(in.size());
  TRY_ASSIGN(int axis, axisOf(op, "axis", r));
  const bool keep = op.boolAttr("keepdims");
  int rd = 0;
  for (int d = 0; d < r; ++d) {
    if (d == axis) {
      b.m.operandDims[0][d] = b.add(FactorKind::Local, "axis", in[d]);
      if (keep) ++rd;
    } else {
      int f = b.add(FactorKind::Parallel, "d" + std::to_string(d), in[d]);
      b.m.operandDims[0][d] = f;
      b.m.resultDims[0][rd++] = f;
    }
  }
  return b.m;
}

// dot: batch dims parallel, free dims parallel, contracting dims ReduceSum. Result dims are
// batch (lhs order), lhs free, rhs free.
StatusOr<FactorMap> dotRule(const Op& op) {
  Builder b(op);
  const auto& lb = op.attrAs<std::vector<int64_t>>("lhs_batch");
  const auto& rb = op.attrAs<std::vector<int64_t>>("rhs_batch");
  const auto& lc = op.attrAs<std::vector<int64_t>>("lhs_contract");
  const auto& rc = op.attrAs<std::vector<int64_t>>("rhs_contract");
  const ir::Shape& ls = opShape(op, 0);
  const ir::Shape& rs = opShape(op, 1);
  if (lb.size() != rb.size() || lc.size() != rc.size())
    return Status::error(op.loc(), "dot: batch/contract lists differ in length");
  auto inRange = [](int64_t x, size_t n) { return x >= 0 && x < static_cast<int64_t>(n); };
  int rd = 0;
  for (size_t i = 0; i < lb.size(); ++i) {
    if (!inRange(lb[i], ls.size()) || !inRange(rb[i], rs.size()))
      return Status::error(op.loc(), "dot: batch dim out of range");
    int f = b.add(FactorKind::Parallel, "b" + std::to_string(i), ls[lb[i]]);
    b.m.operandDims[0][lb[i]] = f;
    b.m.operandDims[1][rb[i]] = f;
    b.m.resultDims[0][rd++] = f;
  }
  for (size_t i = 0; i < lc.size(); ++i) {
    if (!inRange(lc[i], ls.size()) || !inRange(rc[i], rs.size()))
      return Status::error(op.loc(), "dot: contracting dim out of range");
    int f = b.add(FactorKind::ReduceSum, "k" + std::to_string(i), ls[lc[i]]);
    b.m.operandDims[0][lc[i]] = f;
    b.m.operandDims[1][rc[i]] = f;
  }
  for (size_t d = 0; d < ls.size(); ++d)
    if (b.m.operandDims[0][d] < 0)
      b.m.resultDims[0][rd++] = b.m.operandDims[0][d] = b.add(FactorKind::Parallel, "i" + std::to_string(d), ls[d]);
  for (size_t d = 0; d < rs.size(); ++d)
    if (b.m.operandDims[1][d] < 0)
      b.m.resultDims[0][rd++] = b.m.operandDims[1][d] = b.add(FactorKind::Parallel, "j" + std::to_string(d), rs[d]);
  b.m.operandLinear = {true, true};  // bilinear: one operand partial at a time
  return b.m;
}

// [..., m, k] x [..., k, n] -> [..., m, n]; a rank-2 rhs is shared by every batch of lhs.
StatusOr<FactorMap> matmulRule(const Op& op) {
  Builder b(op);
  const ir::Shape& ls = opShape(op, 0);
  const ir::Shape& rs = opShape(op, 1);
  const int lr = static_cast<int>(ls.size()), rr = static_cast<int>(rs.size());
  for (int d = 0; d < lr - 2; ++d) {
    int f = b.add(FactorKind::Parallel, "b" + std::to_string(d), ls[d]);
    b.m.operandDims[0][d] = f;
    b.m.resultDims[0][d] = f;
    if (rr > 2) b.m.operandDims[1][d] = f;
  }
  int i = b.add(FactorKind::Parallel, "i", ls[lr - 2]);
  int k = b.add(FactorKind::ReduceSum, "k", ls[lr - 1]);
  int j = b.add(FactorKind::Parallel, "j", rs[rr - 1]);
  b.m.operandDims[0][lr - 2] = i;
  b.m.operandDims[0][lr - 1] = k;
  b.m.operandDims[1][rr - 2] = k;
  b.m.operandDims[1][rr - 1] = j;
  b.m.resultDims[0][lr - 2] = i;
  b.m.resultDims[0][lr - 1] = j;
  b.m.operandLinear = {true, true};
  return b.m;
}

// A magnitude for ordering symbolic extents: every symbol counts as 1024.
double estimate(const Dim& d) {
  std::map<std::string, int64_t> b;
  for (const auto& s : d.symbols()) b[s] = 1024;
  auto v = d.evaluate(b);
  return v ? static_cast<double>(*v) : 0.0;
}

// Reshape as splits and merges: dims are grouped into runs with equal products; a 1:1 run keeps
// its factor; in a merge/split run only the two MAJOR dims share a factor, which must split
// evenly (a block of the major dim is then a contiguous block of the other side). Size-1 dims
// map to nothing. Symbolic majors that differ ([B, S] -> [B*S/G, G], routing tokens in groups)
// share it too: a split dividing both majors cuts both sides into the same contiguous blocks,
// so the factor carries the second extent (alsoDivides) for propagation to check against the
// symbols' divisibility facts.
StatusOr<FactorMap> reshapeRule(const Op& op) {
  Builder b(op);
  const ir::Shape& in = opShape(op, 0);
  const ir::Shape& out = resShape(op);
  std::vector<int> ii, oi;  // non-unit dims
  for (int d = 0; d < static_cast<int>(in.size()); ++d) if (in[d] != Dim(1)) ii.push_back(d);
  for (int d = 0; d < static_cast<int>(out.size()); ++d) if (out[d] != Dim(1)) oi.push_back(d);
  size_t a = 0, c = 0;
  while (a < ii.size() && c < oi.size()) {
    // Grow the shorter side's product until both match; give up (leave the rest unmapped) if
    // symbolic products never meet.
    size_t a2 = a + 1, c2 = c + 1;
    Dim pa = in[ii[a]], pc = out[oi[c]];
    bool ok = true;
    while (pa != pc) {
      bool growA = estimate(pa) < estimate(pc);  // grow the smaller side
      if (growA) { if (a2 >= ii.size()) { ok = false; break; } pa = pa * in[ii[a2++]]; }
      else { if (c2 >= oi.size()) { ok = false; break; } pc = pc * out[oi[c2++]]; }
      if (a2 - a + c2 - c > 16) { ok = false; break; }
    }
    if (!ok) break;
    const Dim& ma = in[ii[a]];
    const Dim& mc = out[oi[c]];
    if (a2 - a == 1 && c2 - c == 1) {
      int f = b.add(FactorKind::Parallel, "d" + std::to_string(oi[c]), mc);
      b.m.operandDims[0][ii[a]] = f;
      b.m.resultDims[0][oi[c]] = f;
    } else {
      // The shared major factor: its extent is the smaller major dim when both are constants
      // (even splits of it are even splits of both only if they divide both; gcd covers it).
      // A pure merge (one result dim) is split evenly iff its operand major is; a pure split
      // (one operand dim) iff its result major is; otherwise both majors must divide (gcd).
      Dim size = ma;
      std::optional<Dim> also;
      if (c2 - c == 1) size = ma;
      else if (a2 - a == 1) size = mc;
      else if (ma != mc) {
        auto x = ma.constant(), y = mc.constant();
        if (x && y) size = Dim(std::gcd(*x, *y));
        else also = mc;
      }
      int f = b.add(FactorKind::Parallel, "m" + std::to_string(oi[c]), size, /*evenOnly=*/true, also);
      b.m.operandDims[0][ii[a]] = f;
      b.m.resultDims[0][oi[c]] = f;
    }
    a = a2;
    c = c2;
  }
  b.m.operandLinear = {true};
  return b.m;
}

StatusOr<FactorMap> transposeRule(const Op& op) {
  Builder b(op);
  const auto& perm = op.attrAs<std::vector<int64_t>>("perm");
  const ir::Shape& in = opShape(op, 0);
  if (perm.size() != in.size()) return Status::error(op.loc(), "transpose: perm length differs from rank");
  for (size_t d = 0; d < in.size(); ++d)
    b.m.operandDims[0][d] = b.add(FactorKind::Parallel, "d" + std::to_string(d), in[d]);
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] < 0 || perm[i] >= static_cast<int64_t>(in.size()))
      return Status::error(op.loc(), "transpose: perm entry out of range");
    b.m.resultDims[0][i] = b.m.operandDims[0][perm[i]];
  }
  b.m.operandLinear = {true};
  return b.m;
}

StatusOr<FactorMap> broadcastInDimRule(const Op& op) {
  Builder b(op);
  const ir::Shape& in = opShape(op, 0);
  const ir::Shape& out = resShape(op);
  const auto& dims = op.attrAs<std::vector<int64_t>>("dims");
  for (size_t d = 0; d < out.size(); ++d)
    b.m.resultDims[0][d] = b.add(FactorKind::Parallel, "d" + std::to_string(d), out[d]);
  for (size_t i = 0; i < dims.size() && i < in.size(); ++i)
    if (!(in[i] == Dim(1) && out[dims[i]] != Dim(1))) b.m.operandDims[0][i] = b.m.resultDims[0][dims[i]];
  b.m.operandLinear = {true};
  return b.m;
}

// Dims the op keeps whole (same extent in and out) share a factor; a dim it cuts, pads or
// concatenates is unmapped on the operand side and a result-only factor on the result side.
void sameOrResultOnly(Builder& b, const Op& op, const std::vector<bool>& changed) {
  const ir::Shape& out = resShape(op);
  for (size_t d = 0; d < out.size(); ++d) {
    int f = b.add(FactorKind::Parallel, (changed[d] ? "out" : "d") + std::to_string(d), out[d]);
    b.m.resultDims[0][d] = f;
    if (!changed[d])
      for (auto& od : b.m.operandDims) od[d] = f;
  }
}

StatusOr<FactorMap> sliceRule(const Op& op) {
  Builder b(op);
  const ir::Shape& in = opShape(op, 0);
  const auto& start = op.attrAs<std::vector<Dim>>("start");
  const auto& limit = op.attrAs<std::vector<Dim>>("limit");
  std::vector<int64_t> stride;
  if (op.hasAttr("stride")) stride = op.attrAs<std::vector<int64_t>>("stride");
  std::vector<bool> changed(in.size(), true);
  for (size_t d = 0; d < in.size() && d < start.size() && d < limit.size(); ++d)
    changed[d] = !(start[d] == Dim(0) && limit[d] == in[d] && (stride.empty() || stride[d] == 1));
  sameOrResultOnly(b, op, changed);
  b.m.operandLinear = {true};
  return b.m;
}

StatusOr<FactorMap> padRule(const Op& op) {
  Builder b(op);
  const auto& low = op.attrAs<std::vector<int64_t>>("low");
  const auto& high = op.attrAs<std::vector<int64_t>>("high");
  std::vector<bool> changed(opShape(op, 0).size(), false);
  for (size_t d = 0; d < changed.size(); ++d)
    changed[d] = (d < low.size() && low[d] != 0) || (d < high.size() && high[d] != 0);
  sameOrResultOnly(b, op, changed);
  b.m.operandLinear = {op.floatAttr("value", 0.0) == 0.0};  // padding a partial with v≠0 adds N·v
  return b.m;
}

StatusOr<FactorMap> concatRule(const Op& op) {
  Builder b(op);
  const int r = static_cast<int>(resShape(op).size());
  TRY_ASSIGN(int axis, axisOf(op, "axis", r));
  std::vector<bool> changed(r, false);
  changed[axis] = true;
  sameOrResultOnly(b, op, changed);
  b.m.operandLinear.assign(op.numOperands(), true);  // all operands partial alike
  return b.m;
}

// table[..., v, ...], idx[...] -> out[..., idx..., ...]. Splitting v ("vocab") is a ReduceSum:
// each device looks up its rows, masks others to zero, result partial{sum}.
StatusOr<FactorMap> gatherRule(const Op& op) {
  Builder b(op);
  const ir::Shape& table = opShape(op, 0);
  const ir::Shape& idx = opShape(op, 1);
  const int tr = static_cast<int>(table.size()), ir_ = static_cast<int>(idx.size());
  TRY_ASSIGN(int axis, axisOf(op, "axis", tr));
  int rd = 0;
  for (int d = 0; d < axis; ++d)
    b.m.resultDims[0][rd++] = b.m.operandDims[0][d] = b.add(FactorKind::Parallel, "t" + std::to_string(d), table[d]);
  for (int d = 0; d < ir_; ++d)
    b.m.resultDims[0][rd++] = b.m.operandDims[1][d] = b.add(FactorKind::Parallel, "x" + std::to_string(d), idx[d]);
  b.m.operandDims[0][axis] = b.add(FactorKind::ReduceSum, "vocab", table[axis]);
  for (int d = axis + 1; d < tr; ++d)
    b.m.resultDims[0][rd++] = b.m.operandDims[0][d] = b.add(FactorKind::Parallel, "t" + std::to_string(d), table[d]);
  b.m.operandLinear = {true, false};
  return b.m;
}

// scatter_add(base, idx, updates): the mirror of gather. base/result dims parallel (the gathered
// dim too: a device scatters only into rows it owns); the index dims are ReduceSum (a device
// scatters its own tokens, the result is partial{sum}).
StatusOr<FactorMap> scatterAddRule(const Op& op) {
  Builder b(op);
  const ir::Shape& base = opShape(op, 0);
  const ir::Shape& idx = opShape(op, 1);
  const int br = static_cast<int>(base.size()), ir_ = static_cast<int>(idx.size());
  TRY_ASSIGN(int axis, axisOf(op, "axis", br));
  for (int d = 0; d < br; ++d)
    b.m.resultDims[0][d] = b.m.operandDims[0][d] = b.add(FactorKind::Parallel, "t" + std::to_string(d), base[d]);
  int ud = 0;
  for (int d = 0; d < axis; ++d) b.m.operandDims[2][ud++] = b.m.resultDims[0][d];
  for (int d = 0; d < ir_; ++d)
    b.m.operandDims[2][ud++] = b.m.operandDims[1][d] = b.add(FactorKind::ReduceSum, "x" + std::to_string(d), idx[d]);
  for (int d = axis + 1; d < br; ++d) b.m.operandDims[2][ud++] = b.m.resultDims[0][d];
  b.m.operandLinear = {true, false, true};
  return b.m;
}

StatusOr<FactorMap> oneHotRule(const Op& op) {
  Builder b(op);
  const ir::Shape& out = resShape(op);
  for (size_t d = 0; d < out.size(); ++d)
    b.m.resultDims[0][d] = b.add(FactorKind::Parallel, (d + 1 == out.size() ? "depth" : "d") + std::to_string(d), out[d]);
  for (size_t d = 0; d + 1 < out.size(); ++d) b.m.operandDims[0][d] = b.m.resultDims[0][d];
  return b.m;
}

// top_k along the last axis: that axis Local; the k dims of both results map to nothing.
StatusOr<FactorMap> topKRule(const Op& op) {
  Builder b(op);
  const ir::Shape& in = opShape(op, 0);
  const int r = static_cast<int>(in.size());
  for (int d = 0; d < r; ++d) {
    bool last = d == r - 1;
    int f = b.add(last ? FactorKind::Local : FactorKind::Parallel, (last ? "axis" : "d") + std::to_string(d), in[d]);
    b.m.operandDims[0][d] = f;
    if (!last) b.m.resultDims[0][d] = b.m.resultDims[1][d] = f;
  }
  return b.m;
}

// softmax / log_softmax / cumsum along `axis`: that axis Normalized (softmax, log_softmax: a
// split is lowered as max/exp/sum with all_reduces) or Local (cumsum), the rest parallel.
StatusOr<FactorMap> axisLocalRule(const Op& op) {
  Builder b(op);
  const ir::Shape& in = opShape(op, 0);
  TRY_ASSIGN(int axis, axisOf(op, "axis", static_cast<int>(in.size())));
  const FactorKind axisKind = op.kind() == OpKind::Cumsum ? FactorKind::Local : FactorKind::Normalized;
  for (size_t d = 0; d < in.size(); ++d) {
    bool loc = static_cast<int>(d) == axis;
    b.m.resultDims[0][d] = b.m.operandDims[0][d] =
        b.add(loc ? axisKind : FactorKind::Parallel, (loc ? "axis" : "d") + std::to_string(d), in[d]);
  }
  if (op.kind() == OpKind::Cumsum) b.m.operandLinear = {true};
  return b.m;
}

// layer_norm / rms_norm over dims [axis, rank): those Local; scale/bias map onto them.
StatusOr<FactorMap> normRule(const Op& op) {
  Builder b(op);
  const ir::Shape& in = opShape(op, 0);
  const int r = static_cast<int>(in.size());
  TRY_ASSIGN(int axis, axisOf(op, "axis", r, -1));
  for (int d = 0; d < r; ++d) {
    bool loc = d >= axis;
    int f = b.add(loc ? FactorKind::Local : FactorKind::Parallel, (loc ? "norm" : "d") + std::to_string(d), in[d]);
    b.m.resultDims[0][d] = b.m.operandDims[0][d] = f;
    if (loc)
      for (int o = 1; o < op.numOperands(); ++o)
        if (d - axis < static_cast<int>(b.m.operandDims[o].size())) b.m.operandDims[o][d - axis] = f;
  }
  return b.m;
}

// cross_entropy(logits[..., V], targets[...]): class dim Normalized (a split is lowered as the
// vocab-parallel decomposition, OpLowering.cpp). Position dims are parallel with reduction=none,
// ReduceSum otherwise (mean divides by the global count).
StatusOr<FactorMap> crossEntropyRule(const Op& op) {
  Builder b(op);
  const ir::Shape& lg = opShape(op, 0);
  const int r = static_cast<int>(lg.size());
  const bool none = op.enumAttr("reduction", ir::LossReduction::Mean) == ir::LossReduction::None;
  for (int d = 0; d + 1 < r; ++d) {
    int f = b.add(none ? FactorKind::Parallel : FactorKind::ReduceSum, "p" + std::to_string(d), lg[d]);
    b.m.operandDims[0][d] = b.m.operandDims[1][d] = f;
    if (none) b.m.resultDims[0][d] = f;
  }
  b.m.operandDims[0][r - 1] = b.add(FactorKind::Normalized, "class", lg[r - 1]);
  return b.m;
}

// Collectives in a global program: a dim whose extent the collective keeps is parallel, a dim it
// scatters, gathers or exchanges must be whole (transferFactors). Send alone has no result and
// recv alone no operand: each maps its one tensor's dims to parallel factors, and a matched pair
// is one transfer (transferFactors of the send's operand and the receive's result), which is
// how sharding propagation carries a layout from one pipeline rank's program to the next.
StatusOr<FactorMap> collectiveRule(const Op& op) {
  if (op.numOperands() == 1 && op.numResults() == 1)
    return transferFactors(op.operand(0)->type(), op.result()->type());
  Builder b(op);
  auto& dims = op.numOperands() ? b.m.operandDims[0] : b.m.resultDims[0];
  const ir::Shape& s = op.numOperands() ? opShape(op, 0) : resShape(op);
  for (size_t d = 0; d < s.size(); ++d) dims[d] = b.add(FactorKind::Parallel, "d" + std::to_string(d), s[d]);
  return b.m;
}

}  // namespace

FactorMap transferFactors(const ir::TensorType& in, const ir::TensorType& out) {
  FactorMap m;
  m.operandDims.emplace_back(in.rank(), -1);
  m.resultDims.emplace_back(out.rank(), -1);
  m.operandLinear = {false};  // a pending partial sum is resolved before it travels
  for (int d = 0; d < in.rank() && d < out.rank(); ++d)
    if (in.shape[d] == out.shape[d]) {
      m.factors.push_back(Factor{FactorKind::Parallel, "d" + std::to_string(d), in.shape[d], false, std::nullopt});
      m.operandDims[0][d] = m.resultDims[0][d] = static_cast<int>(m.factors.size()) - 1;
    }
  return m;
}

namespace {

using RuleFn = StatusOr<FactorMap> (*)(const Op&);

RuleFn ruleFor(OpKind kind) {
  switch (kind) {
#define FACTOR_RULE(id, fn) \
  case OpKind::id:          \
    return &fn;
#include "partition/FactorRules.def"
    default: return nullptr;
  }
}

}  // namespace

bool hasFactorRule(OpKind kind) { return ruleFor(kind) != nullptr; }

StatusOr<FactorMap> opFactors(const Op& op) {
  RuleFn fn = ruleFor(op.kind());
  if (!fn) return Status::error(op.loc(), std::string("no sharding rule for op '") + op.mnemonic() + "'");
  TRY_ASSIGN(FactorMap m, fn(op));
  // Invariants every rule keeps: each mapped index is in range, and dims mapped to one factor
  // within one tensor never repeat.
  for (const auto* side : {&m.operandDims, &m.resultDims})
    for (const auto& dims : *side)
      for (int f : dims) assert(f >= -1 && f < static_cast<int>(m.factors.size()));
  return m;
}

}  // namespace tessera::partition
