// Shape rules of the ops that create tensors from nothing: constant (its type is the literal's)
// and iota / full / random, whose shape cannot be derived from anything but the declared result
// type that the text form always prints.
#include "ir/rules/RuleUtil.h"

#include "ir/Op.h"

namespace tessera::ir {

StatusOr<std::vector<TensorType>> inferConstant(const InferContext& ctx) {
  const Tensor& value = *ctx.op.attrAs<TensorAttr>("value").value;
  TensorType t{value.dtype(), {}};
  for (int64_t d : value.shape()) t.shape.push_back(Dim(d));
  return std::vector<TensorType>{std::move(t)};
}

// The checks that depend on the op kind; the shape itself is whatever was declared.
static Status checkCreation(const InferContext& ctx, const TensorType& t) {
  switch (ctx.op.kind()) {
    case OpKind::Iota: {
      if (t.dtype == DType::Bool) return ctx.error("result must be numeric, got " + t.str());
      int64_t dim = ctx.op.intAttr("dim");
      if (dim < 0 || dim >= t.rank())
        return ctx.error("dim " + std::to_string(dim) + " is out of range for result " + t.str() +
                         " of rank " + std::to_string(t.rank()));
      return Status::ok();
    }
    case OpKind::Random: {
      TRY(requireFloat(ctx, t, "result"));
      auto dist = ctx.op.enumAttr<RandomDist>("dist", RandomDist::Uniform);
      if (dist == RandomDist::Uniform) {
        double a = ctx.op.floatAttr("a", 0.0), b = ctx.op.floatAttr("b", 1.0);
        if (!(a < b))
          return ctx.error("uniform needs a < b, got a=" + std::to_string(a) +
                           " b=" + std::to_string(b));
      } else {
        double b = ctx.op.floatAttr("b", 1.0);
        if (!(b >= 0))
          return ctx.error("normal needs a non-negative standard deviation b, got b=" +
                           std::to_string(b));
      }
      return Status::ok();
    }
    default:
      return Status::ok();
  }
}

StatusOr<std::vector<TensorType>> inferDeclared(const InferContext& ctx) {
  TRY_ASSIGN(TensorType t, ctx.requireDeclared(0));
  TRY(checkCreation(ctx, t));
  return std::vector<TensorType>{std::move(t)};
}

}  // namespace tessera::ir
