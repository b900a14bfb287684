// Small builders shared by the gradient rules of contractions, data movement, indexing and
// normalizations (ContractionGrads.cpp, DataMovementGrads.cpp, IndexingGrads.cpp,
// NormalizationGrads.cpp): one line per backward op instead of an attribute list each time.
//
// Every builder appends through GradContext::emit, so the ops are located at the forward op and
// shape errors come back as Statuses naming it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "passes/autodiff/GradContext.h"

namespace tessera::passes::gradb {

using IntList = std::vector<int64_t>;

inline StatusOr<ir::Value*> add(GradContext& c, ir::Value* a, ir::Value* b) {
  return c.emit(ir::OpKind::Add, {a, b});
}
inline StatusOr<ir::Value*> sub(GradContext& c, ir::Value* a, ir::Value* b) {
  return c.emit(ir::OpKind::Sub, {a, b});
}
inline StatusOr<ir::Value*> mul(GradContext& c, ir::Value* a, ir::Value* b) {
  return c.emit(ir::OpKind::Mul, {a, b});
}
inline StatusOr<ir::Value*> div(GradContext& c, ir::Value* a, ir::Value* b) {
  return c.emit(ir::OpKind::Div, {a, b});
}

// reduce_sum / reduce_mean over `axes`; no op at all when `axes` is empty.
inline StatusOr<ir::Value*> reduceSum(GradContext& c, ir::Value* v, const IntList& axes,
                                      bool keepdims = false) {
  if (axes.empty()) return v;
  return c.emit(ir::OpKind::ReduceSum, {v}, {{"axes", axes}, {"keepdims", keepdims}});
}
inline StatusOr<ir::Value*> reduceMean(GradContext& c, ir::Value* v, const IntList& axes,
                                       bool keepdims = false) {
  if (axes.empty()) return v;
  return c.emit(ir::OpKind::ReduceMean, {v}, {{"axes", axes}, {"keepdims", keepdims}});
}

// Reshape to `t`; no op when the type already is `t`.
inline StatusOr<ir::Value*> reshape(GradContext& c, ir::Value* v, const ir::TensorType& t) {
  if (v->type() == t) return v;
  return c.emit(ir::OpKind::Reshape, {v}, {}, {t});
}

// Transpose by `perm` (result dim i is operand dim perm[i]); no op for the identity.
inline StatusOr<ir::Value*> transpose(GradContext& c, ir::Value* v, const IntList& perm) {
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == int64_t(i);
  if (identity) return v;
  return c.emit(ir::OpKind::Transpose, {v}, {{"perm", perm}});
}

// `v` with a trailing dim of size 1 appended, so it broadcasts along a last axis.
inline StatusOr<ir::Value*> appendUnitDim(GradContext& c, ir::Value* v) {
  ir::TensorType t = v->type();
  t.shape.push_back(ir::Dim(1));
  return reshape(c, v, t);
}

// A scalar of element type `dtype`.
inline StatusOr<ir::Value*> scalar(GradContext& c, ir::DType dtype, double value) {
  return c.full(ir::TensorType{dtype, {}}, value);
}

// The axes [from, to).
inline IntList axisRange(int from, int to) {
  IntList axes;
  for (int a = from; a < to; ++a) axes.push_back(a);
  return axes;
}

inline int normalizedAxis(int64_t axis, int rank) {
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// one_hot(idx)[..., j] = (idx[...] == j) as `dtype`, over a last dim of size `depth`. Uses the
// one_hot op when depth is a constant; otherwise compares with an iota of the symbolic shape, so
// it also works for a symbolic vocabulary or row length. Indices outside [0, depth) give an
// all-zero row either way.
inline StatusOr<ir::Value*> oneHot(GradContext& c, ir::Value* idx, const ir::Dim& depth,
                                   ir::DType dtype) {
  if (auto n = depth.constant())
    return c.emit(ir::OpKind::OneHot, {idx}, {{"depth", *n}, {"dtype", dtype}});
  ir::TensorType iotaType = idx->type();
  iotaType.shape.push_back(depth);
  TRY_ASSIGN(ir::Value * iota, c.emit(ir::OpKind::Iota, {},
                                      {{"dim", int64_t(iotaType.rank() - 1)}}, {iotaType}));
  TRY_ASSIGN(ir::Value * col, appendUnitDim(c, idx));
  TRY_ASSIGN(ir::Value * eq,
             c.emit(ir::OpKind::Compare, {iota, col},
                    {{"dir", ir::makeEnum(ir::kCompareDirEnum, ir::CompareDir::Eq)}}));
  return c.emit(ir::OpKind::Cast, {eq}, {{"dtype", dtype}});
}

// A result list of `n` nulls: no gradient reaches any operand.
inline std::vector<ir::Value*> noGrads(const GradContext& c) {
  return std::vector<ir::Value*>(c.op.numOperands(), nullptr);
}

}  // namespace tessera::passes::gradb
