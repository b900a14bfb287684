// Helpers shared by the shape rules: axis normalization, numpy broadcasting of symbolic shapes,
// element-type checks. Each returns an error located at the op.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/Module.h"
#include "ir/OpRules.h"

namespace tessera::ir {

// A possibly negative axis (numpy style) as an index in [0, rank).
StatusOr<int> normalizeAxis(const InferContext& ctx, int64_t axis, int rank,
                            const std::string& what = "axis");
// Numpy broadcasting: align trailing dims; equal dims stay, a constant 1 stretches.
StatusOr<Shape> broadcastShapes(const InferContext& ctx, const Shape& a, const Shape& b);
Status requireFloat(const InferContext& ctx, const TensorType& t, const std::string& what);
Status requireInteger(const InferContext& ctx, const TensorType& t, const std::string& what);

}  // namespace tessera::ir
