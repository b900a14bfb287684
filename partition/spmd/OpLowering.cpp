// Local versions of global ops; see OpLowering.h for what differs from "the same op on local
// shapes" and why.
#include "partition/spmd/OpLowering.h"

#include <cassert>
#include <limits>
#include <optional>

#include "partition/spmd/LocalLayout.h"

namespace tessera::partition {

using ir::DType;
using ir::OpKind;
using ir::TensorType;
using ir::Value;

namespace {

using Attrs = std::vector<std::pair<std::string, ir::AttrValue>>;

Attrs attrsOf(const ir::Op& op) {
  Attrs out;
  const auto& specs = op.info().attrs;
  for (size_t i = 0; i < specs.size(); ++i)
    if (const auto& slot = op.attrSlot(static_cast<int>(i))) out.emplace_back(specs[i].name, *slot);
  return out;
}

void setAttr(Attrs& attrs, const std::string& name, ir::AttrValue v) {
  for (auto& [n, val] : attrs)
    if (n == name) {
      val = std::move(v);
      return;
    }
  attrs.emplace_back(name, std::move(v));
}

const AxisNames& axesOfOperandDim(const LoweringInput& in, int o, int d) {
  static const AxisNames kNone;
  int f = in.factors.operandDims[o][d];
  return f < 0 ? kNone : in.factorAxes[f];
}

bool isReduce(FactorKind k) { return k == FactorKind::ReduceSum || k == FactorKind::ReduceMax; }

bool anyReduceSplit(const LoweringInput& in) {
  for (size_t f = 0; f < in.factors.factors.size(); ++f)
    if (isReduce(in.factors.factors[f].kind) && !in.factorAxes[f].empty()) return true;
  return false;
}

// Masks the padded elements of every operand dim mapped to a split, uneven reduction factor.
Status maskReductionPadding(LocalBuilder& b, const LoweringInput& in, std::vector<Value*>& ops) {
  for (int o = 0; o < in.op.numOperands(); ++o)
    for (int d = 0; d < in.op.operand(o)->type().rank(); ++d) {
      int f = in.factors.operandDims[o][d];
      if (f < 0 || !isReduce(in.factors.factors[f].kind) || in.factorAxes[f].empty()) continue;
      if (!ir::isFloat(ops[o]->type().dtype)) continue;  // indices: handled by their op
      double identity = in.factors.factors[f].kind == FactorKind::ReduceMax
                            ? -std::numeric_limits<double>::infinity()
                            : 0.0;
      TRY_ASSIGN(ops[o], b.maskPadding(ops[o], d, in.op.operand(o)->type().shape[d],
                                       in.factorAxes[f], identity));
    }
  return Status::ok();
}

// The global element count of `dims` of `t` as a scalar of dtype `dt`: constants fold into one
// number; a symbolic dim is counted at run time by summing a `full 1` of that (global) extent.
StatusOr<Value*> globalCount(LocalBuilder& b, const TensorType& t, const std::vector<int>& dims,
                             DType dt) {
  double constant = 1;
  std::vector<Value*> symbolic;
  for (int d : dims) {
    if (auto c = t.shape[d].constant()) {
      constant *= static_cast<double>(*c);
      continue;
    }
    TRY_ASSIGN(Value * ones, b.fill(TensorType{dt, {t.shape[d]}}, 1.0));
    TRY_ASSIGN(Value * n, b.emit(OpKind::ReduceSum, {ones}, {{"axes", std::vector<int64_t>{0}}}));
    symbolic.push_back(n);
  }
  TRY_ASSIGN(Value * count, b.scalar(dt, constant));
  for (Value* s : symbolic) {
    TRY_ASSIGN(count, b.emit(OpKind::Mul, {count, s}));
  }
  return count;
}

// reduce_mean with a split reduced dim: masked local sum / global count.
StatusOr<Value*> lowerSplitMean(LocalBuilder& b, const LoweringInput& in, std::vector<Value*> ops) {
  TRY(maskReductionPadding(b, in, ops));
  Attrs attrs = attrsOf(in.op);
  TRY_ASSIGN(Value * sum, b.emit(OpKind::ReduceSum, {ops[0]}, attrs, {in.resultTypes[0]}));
  const TensorType& gt = in.op.operand(0)->type();
  std::vector<int> dims;
  for (int64_t a : in.op.attrAs<std::vector<int64_t>>("axes")) dims.push_back(static_cast<int>(a < 0 ? a + gt.rank() : a));
  TRY_ASSIGN(Value * count, globalCount(b, gt, dims, in.resultTypes[0].dtype));
  return b.emit(OpKind::Div, {sum, count});
}

// The statistics of a split Normalized axis (OpFactors.h): per row, the global max (local
// max over the valid elements, completed by all_reduce{max}), x - max, and the global sum of
// exp(x - max) (local masked sum, completed by all_reduce{sum}). Padded elements are excluded
// from both by masking; their shifted values stay finite (a padded slot holds a copy of a real
// element or a zero), so nothing downstream sees an inf or a NaN from them.
struct RowStats {
  Value* shifted;  // x - max, x's shape
  Value* sumExp;   // [..., 1]: keepdims along the axis
};

StatusOr<RowStats> splitRowStats(LocalBuilder& b, Value* x, int axis, const ir::Dim& global,
                                 const AxisNames& axes) {
  const std::vector<int64_t> ax{axis};
  auto allReduce = [&](Value* v, ir::ReduceOp op) {
    return b.collective(OpKind::AllReduce, v, axes, {{"op", ir::makeEnum(ir::kReduceOpEnum, op)}});
  };
  TRY_ASSIGN(Value * xm, b.maskPadding(x, axis, global, axes, -std::numeric_limits<double>::infinity()));
  TRY_ASSIGN(Value * mx, b.emit(OpKind::ReduceMax, {xm}, {{"axes", ax}, {"keepdims", true}}));
  TRY_ASSIGN(mx, allReduce(mx, ir::ReduceOp::Max));
  TRY_ASSIGN(Value * shifted, b.emit(OpKind::Sub, {x, mx}));
  TRY_ASSIGN(Value * e, b.emit(OpKind::Exp, {shifted}));
  TRY_ASSIGN(e, b.maskPadding(e, axis, global, axes, 0.0));
  TRY_ASSIGN(Value * s, b.emit(OpKind::ReduceSum, {e}, {{"axes", ax}, {"keepdims", true}}));
  TRY_ASSIGN(s, allReduce(s, ir::ReduceOp::Sum));
  return RowStats{shifted, s};
}

// softmax / log_softmax with the normalized axis split: e / sum, or (x - max) - log(sum).
StatusOr<Value*> lowerSplitSoftmax(LocalBuilder& b, const LoweringInput& in, int axis,
                                   const AxisNames& axes) {
  TRY_ASSIGN(RowStats st, splitRowStats(b, in.operands[0], axis,
                                        in.op.operand(0)->type().shape[axis], axes));
  if (in.op.kind() == OpKind::LogSoftmax) {
    TRY_ASSIGN(Value * logSum, b.emit(OpKind::Log, {st.sumExp}));
    return b.emit(OpKind::Sub, {st.shifted, logSum});
  }
  TRY_ASSIGN(Value * e, b.emit(OpKind::Exp, {st.shifted}));
  return b.emit(OpKind::Div, {e, st.sumExp});
}

// Per-position losses of cross_entropy with its class dim split over `axes` (Megatron's
// vocab-parallel loss, derived): log(sum exp(x - max)) - (x[target] - max), where the target's
// shifted logit is picked by the device whose class block holds it (the others contribute 0) and
// completed by all_reduce{sum}. Positions whose target is `ignore` give 0. Shape: targets'.
StatusOr<Value*> splitClassLosses(LocalBuilder& b, Value* logits, Value* targets,
                                  const ir::Dim& classes, const AxisNames& axes, int64_t ignore) {
  const int r = logits->type().rank();
  const int c = r - 1;
  TRY_ASSIGN(RowStats st, splitRowStats(b, logits, c, classes, axes));
  // The global class index of each local column, against the target of each row.
  std::optional<int64_t> localClasses = logits->type().shape[c].constant();
  if (!localClasses)
    return Status::error(b.loc, "cross_entropy: splitting a symbolic class dim is not supported");
  const int64_t len = *localClasses;
  const DType it = targets->type().dtype;
  TRY_ASSIGN(Value * iota, b.emit(OpKind::Iota, {}, {{"dim", int64_t{0}}},
                                  {TensorType{DType::I64, {ir::Dim(len)}}}));
  TRY_ASSIGN(Value * off, b.blockOffset(len, axes));
  TRY_ASSIGN(Value * cls, b.emit(OpKind::Add, {iota, off}));
  if (it != DType::I64) {
    TRY_ASSIGN(cls, b.emit(OpKind::Cast, {cls}, {{"dtype", it}}));
  }
  ir::Shape colShape = targets->type().shape;
  colShape.push_back(ir::Dim(1));
  TRY_ASSIGN(Value * tcol, b.emit(OpKind::Reshape, {targets}, {}, {TensorType{it, colShape}}));
  TRY_ASSIGN(Value * hit, b.emit(OpKind::Compare, {tcol, cls},
                                 {{"dir", ir::makeEnum(ir::kCompareDirEnum, ir::CompareDir::Eq)}}));
  TRY_ASSIGN(Value * zeros, b.fill(st.shifted->type(), 0.0));
  TRY_ASSIGN(Value * pickedAll, b.emit(OpKind::Select, {hit, st.shifted, zeros}));
  TRY_ASSIGN(Value * picked, b.emit(OpKind::ReduceSum, {pickedAll},
                                    {{"axes", std::vector<int64_t>{c}}, {"keepdims", true}}));
  TRY_ASSIGN(picked, b.collective(OpKind::AllReduce, picked, axes,
                                  {{"op", ir::makeEnum(ir::kReduceOpEnum, ir::ReduceOp::Sum)}}));
  TRY_ASSIGN(Value * logSum, b.emit(OpKind::Log, {st.sumExp}));
  TRY_ASSIGN(Value * lossCol, b.emit(OpKind::Sub, {logSum, picked}));
  TensorType lossT{logits->type().dtype, targets->type().shape};
  TRY_ASSIGN(Value * loss, b.emit(OpKind::Reshape, {lossCol}, {}, {lossT}));
  TRY_ASSIGN(Value * ig, b.scalar(it, static_cast<double>(ignore)));
  TRY_ASSIGN(Value * kept, b.emit(OpKind::Compare, {targets, ig},
                                  {{"dir", ir::makeEnum(ir::kCompareDirEnum, ir::CompareDir::Ne)}}));
  TRY_ASSIGN(Value * none, b.fill(lossT, 0.0));
  return b.emit(OpKind::Select, {kept, loss, none});
}

// cross_entropy (sum or mean) with split position dims: each device sums the losses of its own
// positions; padded positions are turned into ignored targets; a mean divides by the global count
// of kept targets.
StatusOr<Value*> lowerSplitCrossEntropy(LocalBuilder& b, const LoweringInput& in,
                                        std::vector<Value*> ops) {
  Attrs attrs = attrsOf(in.op);
  const bool userIgnore = in.op.hasAttr("ignore_index");
  const int64_t ignore = in.op.intAttr("ignore_index", -1);
  auto reduction = in.op.enumAttr("reduction", ir::LossReduction::Mean);
  const TensorType& targetsT = in.op.operand(1)->type();
  bool padded = false;
  for (int d = 0; d < targetsT.rank(); ++d) {
    const AxisNames& axes = axesOfOperandDim(in, 1, d);
    if (axes.empty() || isEvenSplit(targetsT.shape[d], b.groupSize(axes))) continue;
    padded = true;
    TRY_ASSIGN(ops[1], b.maskPadding(ops[1], d, targetsT.shape[d], axes, static_cast<double>(ignore)));
    TRY_ASSIGN(ops[0], b.maskPadding(ops[0], d, in.op.operand(0)->type().shape[d], axes, 0.0));
  }
  if (padded) setAttr(attrs, "ignore_index", int64_t{ignore});
  const int classDim = in.op.operand(0)->type().rank() - 1;
  const AxisNames& classAxes = axesOfOperandDim(in, 0, classDim);
  Value* sum = nullptr;
  if (!classAxes.empty()) {
    // The interpreter's default ignore_index is -100 (ir/interp/NormalizationEval.cpp).
    TRY_ASSIGN(Value * losses, splitClassLosses(b, ops[0], ops[1],
                                                in.op.operand(0)->type().shape[classDim], classAxes,
                                                userIgnore || padded ? ignore : -100));
    if (reduction == ir::LossReduction::None) return losses;
    std::vector<int64_t> allPos;
    for (int d = 0; d < targetsT.rank(); ++d) allPos.push_back(d);
    TRY_ASSIGN(sum, b.emit(OpKind::ReduceSum, {losses}, {{"axes", allPos}}, {in.resultTypes[0]}));
  } else {
    setAttr(attrs, "reduction", ir::makeEnum(ir::kLossReductionEnum, ir::LossReduction::Sum));
    TRY_ASSIGN(sum, b.emit(OpKind::CrossEntropy, {ops[0], ops[1]}, attrs, {in.resultTypes[0]}));
  }
  if (reduction != ir::LossReduction::Mean) return sum;
  DType dt = in.resultTypes[0].dtype;
  Value* count = nullptr;
  std::vector<int> all;
  for (int d = 0; d < targetsT.rank(); ++d) all.push_back(d);
  if (!userIgnore) {
    TRY_ASSIGN(count, globalCount(b, targetsT, all, dt));
  } else {
    // Kept targets of this device (padded positions already hold ignore_index), summed over
    // every axis that splits a position dim.
    TRY_ASSIGN(Value * ig, b.scalar(ops[1]->type().dtype, static_cast<double>(ignore)));
    TRY_ASSIGN(Value * kept, b.emit(OpKind::Compare, {ops[1], ig},
                                    {{"dir", ir::makeEnum(ir::kCompareDirEnum, ir::CompareDir::Ne)}}));
    TRY_ASSIGN(Value * keptF, b.emit(OpKind::Cast, {kept}, {{"dtype", dt}}));
    std::vector<int64_t> axesAll(all.begin(), all.end());
    TRY_ASSIGN(count, b.emit(OpKind::ReduceSum, {keptF}, {{"axes", axesAll}}));
    AxisNames split;
    for (int d = 0; d < targetsT.rank(); ++d)
      for (const std::string& a : axesOfOperandDim(in, 1, d)) split.push_back(a);
    TRY_ASSIGN(count, b.collective(OpKind::AllReduce, count, split,
                                   {{"op", ir::makeEnum(ir::kReduceOpEnum, ir::ReduceOp::Sum)}}));
  }
  return b.emit(OpKind::Div, {sum, count});
}

// idx - offset, whether it falls in [0, len), and the index clamped to a valid local row.
struct LocalIndex {
  Value* clamped;
  Value* valid;  // bool, idx's shape
};

StatusOr<LocalIndex> localIndex(LocalBuilder& b, Value* idx, int64_t len, const AxisNames& axes) {
  TRY_ASSIGN(Value * off, b.blockOffset(len, axes));
  TRY_ASSIGN(Value * offT, b.emit(OpKind::Cast, {off}, {{"dtype", idx->type().dtype}}));
  TRY_ASSIGN(Value * local, b.emit(OpKind::Sub, {idx, offT}));
  TRY_ASSIGN(Value * zero, b.scalar(idx->type().dtype, 0));
  TRY_ASSIGN(Value * lenV, b.scalar(idx->type().dtype, static_cast<double>(len)));
  auto cmp = [&](Value* a, Value* c, ir::CompareDir dir) {
    return b.emit(OpKind::Compare, {a, c}, {{"dir", ir::makeEnum(ir::kCompareDirEnum, dir)}});
  };
  TRY_ASSIGN(Value * geZero, cmp(local, zero, ir::CompareDir::Ge));
  TRY_ASSIGN(Value * ltLen, cmp(local, lenV, ir::CompareDir::Lt));
  TRY_ASSIGN(Value * valid, b.emit(OpKind::Select, {geZero, ltLen, geZero}));  // and
  TRY_ASSIGN(Value * zeros, b.fill(local->type(), 0.0));
  TRY_ASSIGN(Value * clamped, b.emit(OpKind::Select, {valid, local, zeros}));
  return LocalIndex{clamped, valid};
}

// The bool `valid` (idx's shape) broadcast onto a tensor whose dims [at, at + idxRank) are idx's.
StatusOr<Value*> spreadMask(LocalBuilder& b, Value* valid, const TensorType& onto, int at) {
  std::vector<int64_t> dims;
  for (int i = 0; i < valid->type().rank(); ++i) dims.push_back(at + i);
  return b.emit(OpKind::BroadcastInDim, {valid}, {{"dims", dims}},
                {TensorType{DType::Bool, onto.shape}});
}

StatusOr<int64_t> constantRows(const ir::Op& op, const ir::Dim& localRows) {
  if (auto c = localRows.constant()) return *c;
  return Status::error(op.loc(), std::string(op.mnemonic()) +
                                     ": splitting a symbolic gathered axis is not supported");
}

StatusOr<Value*> lowerSplitGather(LocalBuilder& b, const LoweringInput& in, int axis,
                                  const AxisNames& axes) {
  TRY_ASSIGN(int64_t len, constantRows(in.op, in.operands[0]->type().shape[axis]));
  TRY_ASSIGN(LocalIndex li, localIndex(b, in.operands[1], len, axes));
  TRY_ASSIGN(Value * rows, b.emit(OpKind::Gather, {in.operands[0], li.clamped}, attrsOf(in.op),
                                  {in.resultTypes[0]}));
  TRY_ASSIGN(Value * mask, spreadMask(b, li.valid, rows->type(), axis));
  TRY_ASSIGN(Value * zeros, b.fill(rows->type(), 0.0));
  return b.emit(OpKind::Select, {mask, rows, zeros});
}

StatusOr<Value*> lowerScatterAdd(LocalBuilder& b, const LoweringInput& in) {
  std::vector<Value*> ops = in.operands;
  const int axis = static_cast<int>(in.op.intAttr("axis") < 0
                                        ? in.op.intAttr("axis") + in.op.operand(0)->type().rank()
                                        : in.op.intAttr("axis"));
  // Padded index positions (an uneven split of the tokens) scatter nothing.
  const TensorType& idxT = in.op.operand(1)->type();
  for (int d = 0; d < idxT.rank(); ++d) {
    const AxisNames& axes = axesOfOperandDim(in, 1, d);
    if (axes.empty() || isEvenSplit(idxT.shape[d], b.groupSize(axes))) continue;
    TRY_ASSIGN(ops[1], b.maskPadding(ops[1], d, idxT.shape[d], axes, 0.0));
    TRY_ASSIGN(ops[2], b.maskPadding(ops[2], axis + d, in.op.operand(2)->type().shape[axis + d], axes, 0.0));
  }
  const AxisNames& rowAxes = axesOfOperandDim(in, 0, axis);
  if (!rowAxes.empty()) {
    TRY_ASSIGN(int64_t len, constantRows(in.op, ops[0]->type().shape[axis]));
    TRY_ASSIGN(LocalIndex li, localIndex(b, ops[1], len, rowAxes));
    TRY_ASSIGN(Value * mask, spreadMask(b, li.valid, ops[2]->type(), axis));
    TRY_ASSIGN(Value * zeros, b.fill(ops[2]->type(), 0.0));
    TRY_ASSIGN(ops[2], b.emit(OpKind::Select, {mask, ops[2], zeros}));
    ops[1] = li.clamped;
  }
  return b.emit(OpKind::ScatterAdd, ops, attrsOf(in.op), {in.resultTypes[0]});
}

}  // namespace

StatusOr<std::vector<Value*>> lowerOp(LocalBuilder& b, const LoweringInput& in) {
  const ir::Op& op = in.op;
  std::vector<Value*> ops = in.operands;
  switch (op.kind()) {
    case OpKind::ReduceMean:
      if (anyReduceSplit(in)) {
        TRY_ASSIGN(Value * v, lowerSplitMean(b, in, ops));
        return std::vector<Value*>{v};
      }
      break;
    case OpKind::Softmax:
    case OpKind::LogSoftmax: {
      const int axis = static_cast<int>(op.intAttr("axis") < 0 ? op.intAttr("axis") + op.operand(0)->type().rank()
                                                               : op.intAttr("axis"));
      const AxisNames& axes = axesOfOperandDim(in, 0, axis);
      if (!axes.empty()) {
        TRY_ASSIGN(Value * v, lowerSplitSoftmax(b, in, axis, axes));
        return std::vector<Value*>{v};
      }
      break;
    }
    case OpKind::CrossEntropy:
      if (anyReduceSplit(in) || !axesOfOperandDim(in, 0, op.operand(0)->type().rank() - 1).empty()) {
        TRY_ASSIGN(Value * v, lowerSplitCrossEntropy(b, in, ops));
        return std::vector<Value*>{v};
      }
      break;
    case OpKind::Gather: {
      int axis = static_cast<int>(op.intAttr("axis") < 0 ? op.intAttr("axis") + op.operand(0)->type().rank()
                                                          : op.intAttr("axis"));
      const AxisNames& axes = axesOfOperandDim(in, 0, axis);
      if (!axes.empty()) {
        TRY_ASSIGN(Value * v, lowerSplitGather(b, in, axis, axes));
        return std::vector<Value*>{v};
      }
      break;
    }
    case OpKind::ScatterAdd: {
      TRY_ASSIGN(Value * v, lowerScatterAdd(b, in));
      return std::vector<Value*>{v};
    }
    default:
      TRY(maskReductionPadding(b, in, ops));
      break;
  }
  Attrs attrs = attrsOf(op);
  if (op.kind() == OpKind::Slice) {
    // Split dims are whole-range (the factor rule maps only those): their limit is the local size.
    auto limit = op.attrAs<std::vector<ir::Dim>>("limit");
    for (int d = 0; d < op.operand(0)->type().rank() && d < static_cast<int>(limit.size()); ++d)
      if (!axesOfOperandDim(in, 0, d).empty()) limit[d] = ops[0]->type().shape[d];
    setAttr(attrs, "limit", limit);
  }
  ir::OpSpec spec{op.kind(), ops, attrs, in.resultTypes, b.loc};
  TRY_ASSIGN(ir::Op * local, b.function().addOp(std::move(spec)));
  std::vector<Value*> results;
  for (int r = 0; r < local->numResults(); ++r) results.push_back(local->result(r));
  return results;
}

}  // namespace tessera::partition
