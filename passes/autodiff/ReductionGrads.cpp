// Gradient rules of reduce_sum, reduce_mean and reduce_max.
//
// Each broadcasts the result's cotangent back over the reduced axes (one broadcast_in_dim, which
// handles both keepdims forms). reduce_mean divides by the number of reduced elements; when that
// count is symbolic (B*S) it is computed as a value, reduce_sum of a `full 1` over the reduced
// dims only, which is exact (sums of ones are exact integers up to 2^24 in f32, 2^53 in f64).
// reduce_max splits the cotangent evenly among the elements equal to the maximum, as
// torch.amax does: with ties [1, 3, 3] the gradient is [0, 1/2, 1/2].
#include <vector>

#include "passes/autodiff/GradBuilders.h"

namespace tessera::passes {

namespace {

using ir::OpKind;
using ir::Value;

struct ReduceShape {
  std::vector<bool> reduced;        // per operand dim
  std::vector<int64_t> axes;        // normalized, ascending
  std::vector<int64_t> keptDims;    // the operand dims that survive without keepdims
  ir::TensorType keepType;          // the result type with keepdims=true
};

ReduceShape reduceShape(const ir::Op& op) {
  const ir::TensorType& in = op.operand(0)->type();
  ReduceShape s;
  s.reduced.assign(in.rank(), false);
  for (int64_t a : op.attrAs<std::vector<int64_t>>("axes"))
    s.reduced[gradb::normalizedAxis(a, in.rank())] = true;
  s.keepType = in;
  for (int d = 0; d < in.rank(); ++d) {
    if (s.reduced[d]) {
      s.axes.push_back(d);
      s.keepType.shape[d] = ir::Dim(1);
    } else {
      s.keptDims.push_back(d);
    }
  }
  return s;
}

// `v`, of the reduce's result type, broadcast back to the operand type.
StatusOr<Value*> broadcastBack(GradContext& c, const ReduceShape& s, Value* v) {
  const ir::TensorType& in = c.op.operand(0)->type();
  bool keepdims = c.op.boolAttr("keepdims");
  std::vector<int64_t> dims;
  if (keepdims) dims = gradb::axisRange(0, in.rank());
  else dims = s.keptDims;
  if (v->type() == in) return v;
  return c.emit(OpKind::BroadcastInDim, {v}, {{"dims", dims}}, {in});
}

// The number of elements each result element reduces, as a scalar of the operand's dtype.
StatusOr<Value*> reducedCount(GradContext& c, const ReduceShape& s) {
  const ir::TensorType& in = c.op.operand(0)->type();
  ir::Dim count = 1;
  for (int64_t a : s.axes) count = count * in.shape[a];
  if (auto n = count.constant()) return gradb::scalar(c, in.dtype, static_cast<double>(*n));
  ir::TensorType onesType{in.dtype, {}};
  for (int64_t a : s.axes) onesType.shape.push_back(in.shape[a]);
  TRY_ASSIGN(Value * ones, c.full(onesType, 1.0));
  return gradb::reduceSum(c, ones, gradb::axisRange(0, onesType.rank()));
}

}  // namespace

StatusOr<std::vector<Value*>> gradReduce(GradContext& c) {
  Value* g = c.resultGrads[0];
  if (!g) return gradb::noGrads(c);
  ReduceShape s = reduceShape(c.op);
  switch (c.op.kind()) {
    case OpKind::ReduceSum: {
      TRY_ASSIGN(Value * dx, broadcastBack(c, s, g));
      return std::vector<Value*>{dx};
    }
    case OpKind::ReduceMean: {
      TRY_ASSIGN(Value * n, reducedCount(c, s));
      TRY_ASSIGN(Value * gn, gradb::div(c, g, n));
      TRY_ASSIGN(Value * dx, broadcastBack(c, s, gn));
      return std::vector<Value*>{dx};
    }
    case OpKind::ReduceMax: {
      // mask = [x == max], count = sum(mask) per result element; dx = mask * g / count.
      Value* x = c.op.operand(0);
      TRY_ASSIGN(Value * yKeep, gradb::reshape(c, c.op.result(0), s.keepType));
      TRY_ASSIGN(Value * eq, c.emit(OpKind::Compare, {x, yKeep},
                                    {{"dir", ir::makeEnum(ir::kCompareDirEnum,
                                                          ir::CompareDir::Eq)}}));
      TRY_ASSIGN(Value * mask, c.emit(OpKind::Cast, {eq}, {{"dtype", x->type().dtype}}));
      TRY_ASSIGN(Value * count, gradb::reduceSum(c, mask, s.axes, /*keepdims=*/true));
      TRY_ASSIGN(Value * gKeep, gradb::reshape(c, g, s.keepType));
      TRY_ASSIGN(Value * share, gradb::div(c, gKeep, count));
      TRY_ASSIGN(Value * dx, gradb::mul(c, mask, share));
      return std::vector<Value*>{dx};
    }
    default:
      return c.error("no reduction gradient rule for this op");
  }
}

}  // namespace tessera::passes
