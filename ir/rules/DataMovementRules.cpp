// Shape rules of the ops that move data without arithmetic on it: reshape, transpose,
// broadcast_in_dim, slice, concat and pad.
//
// Shapes are symbolic (Dim polynomials): wherever a fact can only be checked for constants (a
// slice bound inside its dim, say) it is checked when the dims involved are constant, or when
// their difference is; a symbolic fact that cannot be decided is left to the verifier's symbol
// facts and to the interpreter, which sees concrete shapes.
#include "ir/Op.h"
#include "ir/rules/RuleUtil.h"

namespace tessera::ir {

namespace {

std::string dimListStr(const std::vector<Dim>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + v[i].str();
  return s + "]";
}

// True when `d` is known to be negative (it is a negative constant).
bool knownNegative(const Dim& d) {
  auto c = d.constant();
  return c && *c < 0;
}

}  // namespace

StatusOr<std::vector<TensorType>> inferReshape(const InferContext& ctx) {
  const TensorType& in = ctx.operands[0];
  TRY_ASSIGN(TensorType out, ctx.requireDeclared(0));
  if (out.dtype != in.dtype)
    return ctx.error("cannot change the element type: operand " + in.str() + ", result " +
                     out.str());
  if (in.numElements() != out.numElements())
    return ctx.error("element counts differ: operand " + in.str() + " has " +
                     in.numElements().str() + ", result " + out.str() + " has " +
                     out.numElements().str());
  return std::vector<TensorType>{out};
}

StatusOr<std::vector<TensorType>> inferTranspose(const InferContext& ctx) {
  const TensorType& in = ctx.operands[0];
  const auto& perm = ctx.op.attrAs<std::vector<int64_t>>("perm");
  if (static_cast<int>(perm.size()) != in.rank())
    return ctx.error("perm " + intListStr(perm) + " has " + std::to_string(perm.size()) +
                     " entries but the operand " + in.str() + " has rank " +
                     std::to_string(in.rank()));
  std::vector<bool> seen(perm.size(), false);
  TensorType out{in.dtype, {}};
  for (int64_t p : perm) {
    if (p < 0 || p >= in.rank() || seen[p])
      return ctx.error("perm " + intListStr(perm) + " is not a permutation of [0, " +
                       std::to_string(in.rank()) + ")");
    seen[p] = true;
    out.shape.push_back(in.shape[p]);
  }
  return std::vector<TensorType>{out};
}

StatusOr<std::vector<TensorType>> inferBroadcastInDim(const InferContext& ctx) {
  const TensorType& in = ctx.operands[0];
  TRY_ASSIGN(TensorType out, ctx.requireDeclared(0));
  const auto& dims = ctx.op.attrAs<std::vector<int64_t>>("dims");
  if (out.dtype != in.dtype)
    return ctx.error("cannot change the element type: operand " + in.str() + ", result " +
                     out.str());
  if (static_cast<int>(dims.size()) != in.rank())
    return ctx.error("dims " + intListStr(dims) + " has " + std::to_string(dims.size()) +
                     " entries but the operand " + in.str() + " has rank " +
                     std::to_string(in.rank()));
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = dims[i];
    if (d < 0 || d >= out.rank())
      return ctx.error("dims " + intListStr(dims) + ": " + std::to_string(d) +
                       " is out of range for the result " + out.str());
    if (i > 0 && d <= dims[i - 1])
      return ctx.error("dims " + intListStr(dims) + " must be strictly increasing");
    const Dim& od = in.shape[i];
    if (od != out.shape[d] && od != Dim(1))
      return ctx.error("operand dim " + std::to_string(i) + " (" + od.str() +
                       ") cannot broadcast to result dim " + std::to_string(d) + " (" +
                       out.shape[d].str() + "): " + in.str() + " -> " + out.str());
  }
  return std::vector<TensorType>{out};
}

StatusOr<std::vector<TensorType>> inferSlice(const InferContext& ctx) {
  const TensorType& in = ctx.operands[0];
  const auto& start = ctx.op.attrAs<std::vector<Dim>>("start");
  const auto& limit = ctx.op.attrAs<std::vector<Dim>>("limit");
  std::vector<int64_t> stride(in.rank(), 1);
  if (ctx.op.hasAttr("stride")) stride = ctx.op.attrAs<std::vector<int64_t>>("stride");
  if (static_cast<int>(start.size()) != in.rank() || static_cast<int>(limit.size()) != in.rank() ||
      static_cast<int>(stride.size()) != in.rank())
    return ctx.error("start " + dimListStr(start) + ", limit " + dimListStr(limit) +
                     " and stride " + intListStr(stride) + " need one entry per dim of " + in.str());
  TensorType out{in.dtype, {}};
  for (int i = 0; i < in.rank(); ++i) {
    std::string where = "dim " + std::to_string(i) + " of " + in.str() + ": ";
    const Dim& dim = in.shape[i];
    if (stride[i] <= 0)
      return ctx.error(where + "stride " + std::to_string(stride[i]) + " must be positive");
    Dim extent = limit[i] - start[i];
    if (knownNegative(start[i]) || knownNegative(extent) || knownNegative(dim - limit[i]))
      return ctx.error(where + "slice [" + start[i].str() + ", " + limit[i].str() +
                       ") must satisfy 0 <= start <= limit <= " + dim.str());
    if (stride[i] == 1) {
      out.shape.push_back(extent);
      continue;
    }
    // ceil((limit - start) / stride) is only a polynomial when the extent is a constant.
    auto n = extent.constant();
    if (!n)
      return ctx.error(where + "stride " + std::to_string(stride[i]) +
                       " needs a constant extent, got limit - start = " + extent.str());
    out.shape.push_back(Dim((*n + stride[i] - 1) / stride[i]));
  }
  return std::vector<TensorType>{out};
}

StatusOr<std::vector<TensorType>> inferConcat(const InferContext& ctx) {
  const TensorType& first = ctx.operands[0];
  TRY_ASSIGN(int axis, normalizeAxis(ctx, ctx.op.intAttr("axis"), first.rank()));
  TensorType out = first;
  for (size_t j = 1; j < ctx.operands.size(); ++j) {
    const TensorType& t = ctx.operands[j];
    if (t.dtype != first.dtype || t.rank() != first.rank())
      return ctx.error("operand " + std::to_string(j) + " " + t.str() +
                       " must have the element type and rank of operand 0 " + first.str());
    for (int d = 0; d < t.rank(); ++d)
      if (d != axis && t.shape[d] != first.shape[d])
        return ctx.error("operand " + std::to_string(j) + " " + t.str() + " differs from " +
                         first.str() + " in dim " + std::to_string(d) + " (concat axis is " +
                         std::to_string(axis) + ")");
    out.shape[axis] = out.shape[axis] + t.shape[axis];
  }
  return std::vector<TensorType>{out};
}

StatusOr<std::vector<TensorType>> inferPad(const InferContext& ctx) {
  const TensorType& in = ctx.operands[0];
  const auto& low = ctx.op.attrAs<std::vector<int64_t>>("low");
  const auto& high = ctx.op.attrAs<std::vector<int64_t>>("high");
  if (static_cast<int>(low.size()) != in.rank() || static_cast<int>(high.size()) != in.rank())
    return ctx.error("low " + intListStr(low) + " and high " + intListStr(high) +
                     " need one entry per dim of " + in.str());
  TensorType out = in;
  for (int i = 0; i < in.rank(); ++i) {
    if (low[i] < 0 || high[i] < 0)
      return ctx.error("padding must be non-negative, got low " + intListStr(low) + ", high " +
                       intListStr(high));
    out.shape[i] = in.shape[i] + Dim(low[i] + high[i]);
  }
  return std::vector<TensorType>{out};
}

}  // namespace tessera::ir
