// Reference semantics of cumsum, softmax / log_softmax, layer_norm, rms_norm and cross_entropy.
//
// Everything is computed in double and rounded to the result type once per output element.
// softmax and the loss subtract the maximum before exponentiating, so large logits neither
// overflow nor lose the small differences that matter. Definitions follow torch:
// - layer_norm: (x - mean) / sqrt(var + eps) * scale + bias, biased variance, eps 1e-5
//   (torch.nn.LayerNorm).
// - rms_norm: x / sqrt(mean(x^2) + eps) * scale, eps 1e-6.
// - cross_entropy: -log_softmax(logits)[target]; targets equal to ignore_index (default -100)
//   contribute 0 and are not counted in the mean (torch.nn.functional.cross_entropy); a mean over
//   no counted target is NaN, as in torch. Any other target outside [0, V) is an error.
#include <cmath>
#include <limits>

#include "ir/Op.h"

namespace tessera::ir {

namespace {

// The elements along one axis: line (o, i) holds data[(o * len + l) * inner + i] for l < len.
struct Lines {
  int64_t outer = 1, len = 1, inner = 1;
  Lines(const std::vector<int64_t>& shape, int64_t axis) {
    int rank = static_cast<int>(shape.size());
    if (axis < 0) axis += rank;
    for (int d = 0; d < rank; ++d) {
      if (d < axis) outer *= shape[d];
      else if (d == axis) len = shape[d];
      else inner *= shape[d];
    }
  }
  int64_t at(int64_t o, int64_t i, int64_t l) const { return (o * len + l) * inner + i; }
};

// Number of elements in dims [axis, rank): the contiguous block a norm works on.
int64_t trailingSize(const std::vector<int64_t>& shape, int64_t axis) {
  int rank = static_cast<int>(shape.size());
  if (axis < 0) axis += rank;
  int64_t n = 1;
  for (int d = static_cast<int>(axis); d < rank; ++d) n *= shape[d];
  return n;
}

StatusOr<std::vector<Tensor>> one(const EvalContext& ctx, std::vector<double> v) {
  return std::vector<Tensor>{Tensor(ctx.resultDTypes[0], ctx.resultShapes[0], std::move(v))};
}

}  // namespace

StatusOr<std::vector<Tensor>> evalCumsum(const EvalContext& ctx) {
  const Tensor& in = *ctx.operands[0];
  Lines lines(in.shape(), ctx.op.intAttr("axis"));
  bool exclusive = ctx.op.boolAttr("exclusive"), reverse = ctx.op.boolAttr("reverse");
  std::vector<double> out(in.numElements());
  for (int64_t o = 0; o < lines.outer; ++o)
    for (int64_t i = 0; i < lines.inner; ++i) {
      double sum = 0;
      for (int64_t s = 0; s < lines.len; ++s) {
        int64_t at = lines.at(o, i, reverse ? lines.len - 1 - s : s);
        if (exclusive) out[at] = sum;
        sum += in[at];
        if (!exclusive) out[at] = sum;
      }
    }
  return one(ctx, std::move(out));
}

// Shared by softmax and log_softmax.
StatusOr<std::vector<Tensor>> evalSoftmax(const EvalContext& ctx) {
  const Tensor& in = *ctx.operands[0];
  Lines lines(in.shape(), ctx.op.intAttr("axis"));
  bool logForm = ctx.op.kind() == OpKind::LogSoftmax;
  std::vector<double> out(in.numElements());
  for (int64_t o = 0; o < lines.outer; ++o)
    for (int64_t i = 0; i < lines.inner; ++i) {
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t l = 0; l < lines.len; ++l) mx = std::max(mx, in[lines.at(o, i, l)]);
      double sum = 0;
      for (int64_t l = 0; l < lines.len; ++l) sum += std::exp(in[lines.at(o, i, l)] - mx);
      double logSum = std::log(sum);
      for (int64_t l = 0; l < lines.len; ++l) {
        int64_t at = lines.at(o, i, l);
        out[at] = logForm ? in[at] - mx - logSum : std::exp(in[at] - mx) / sum;
      }
    }
  return one(ctx, std::move(out));
}

StatusOr<std::vector<Tensor>> evalLayerNorm(const EvalContext& ctx) {
  const Tensor& x = *ctx.operands[0];
  const Tensor& scale = *ctx.operands[1];
  const Tensor& bias = *ctx.operands[2];
  double eps = ctx.op.floatAttr("eps", 1e-5);
  int64_t f = trailingSize(x.shape(), ctx.op.intAttr("axis", -1));
  int64_t rows = f == 0 ? 0 : x.numElements() / f;
  std::vector<double> out(x.numElements());
  for (int64_t r = 0; r < rows; ++r) {
    const double* row = x.data().data() + r * f;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < f; ++j) mean += row[j];
    mean /= static_cast<double>(f);
    for (int64_t j = 0; j < f; ++j) var += (row[j] - mean) * (row[j] - mean);
    var /= static_cast<double>(f);
    double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t j = 0; j < f; ++j) out[r * f + j] = (row[j] - mean) * inv * scale[j] + bias[j];
  }
  return one(ctx, std::move(out));
}

StatusOr<std::vector<Tensor>> evalRmsNorm(const EvalContext& ctx) {
  const Tensor& x = *ctx.operands[0];
  const Tensor& scale = *ctx.operands[1];
  double eps = ctx.op.floatAttr("eps", 1e-6);
  int64_t f = trailingSize(x.shape(), ctx.op.intAttr("axis", -1));
  int64_t rows = f == 0 ? 0 : x.numElements() / f;
  std::vector<double> out(x.numElements());
  for (int64_t r = 0; r < rows; ++r) {
    const double* row = x.data().data() + r * f;
    double ms = 0;
    for (int64_t j = 0; j < f; ++j) ms += row[j] * row[j];
    ms /= static_cast<double>(f);
    double inv = 1.0 / std::sqrt(ms + eps);
    for (int64_t j = 0; j < f; ++j) out[r * f + j] = row[j] * inv * scale[j];
  }
  return one(ctx, std::move(out));
}

StatusOr<std::vector<Tensor>> evalCrossEntropy(const EvalContext& ctx) {
  const Tensor& logits = *ctx.operands[0];
  const Tensor& targets = *ctx.operands[1];
  int64_t v = logits.shape().back();
  int64_t ignore = ctx.op.intAttr("ignore_index", -100);
  auto reduction = ctx.op.enumAttr("reduction", LossReduction::Mean);
  int64_t n = targets.numElements();
  std::vector<double> losses(n, 0.0);
  int64_t counted = 0;
  for (int64_t p = 0; p < n; ++p) {
    auto t = static_cast<int64_t>(targets[p]);
    if (t == ignore) continue;
    if (t < 0 || t >= v)
      return ctx.error("target " + std::to_string(t) + " at flat position " + std::to_string(p) +
                       " is out of range [0, " + std::to_string(v) +
                       ") and is not the ignore_index " + std::to_string(ignore));
    const double* row = logits.data().data() + p * v;
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < v; ++c) mx = std::max(mx, row[c]);
    double sum = 0;
    for (int64_t c = 0; c < v; ++c) sum += std::exp(row[c] - mx);
    losses[p] = -(row[t] - mx - std::log(sum));
    ++counted;
  }
  if (reduction == LossReduction::None) return one(ctx, std::move(losses));
  double total = 0;
  for (double l : losses) total += l;
  if (reduction == LossReduction::Mean)
    total = counted ? total / static_cast<double>(counted)
                    : std::numeric_limits<double>::quiet_NaN();
  return one(ctx, {total});
}

}  // namespace tessera::ir
