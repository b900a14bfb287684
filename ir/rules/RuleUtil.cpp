// Helpers shared by the shape rules.
#include "ir/rules/RuleUtil.h"

#include <algorithm>

namespace tessera::ir {

StatusOr<int> normalizeAxis(const InferContext& ctx, int64_t axis, int rank,
                            const std::string& what) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    return ctx.error(what + " " + std::to_string(axis) + " is out of range for rank " +
                     std::to_string(rank));
  return static_cast<int>(a);
}

StatusOr<Shape> broadcastShapes(const InferContext& ctx, const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    // Dims aligned from the right; a missing dim acts as 1.
    Dim da = i < n - a.size() ? Dim(1) : a[i - (n - a.size())];
    Dim db = i < n - b.size() ? Dim(1) : b[i - (n - b.size())];
    if (da == db || db == Dim(1)) out[i] = da;
    else if (da == Dim(1)) out[i] = db;
    else
      return ctx.error("cannot broadcast " + shapeStr(a) + " with " + shapeStr(b) + ": " +
                       da.str() + " vs " + db.str());
  }
  return out;
}

Status requireFloat(const InferContext& ctx, const TensorType& t, const std::string& what) {
  if (!isFloat(t.dtype)) return ctx.error(what + " must be a float tensor, got " + t.str());
  return Status::ok();
}

Status requireInteger(const InferContext& ctx, const TensorType& t, const std::string& what) {
  if (!isInteger(t.dtype)) return ctx.error(what + " must be an integer tensor, got " + t.str());
  return Status::ok();
}

}  // namespace tessera::ir
