// Reference semantics of the elementwise ops: unary math, binary arithmetic, comparison, select
// and cast, with numpy broadcasting.
//
// Every value is computed in double from the operands' (already rounded) values and rounded once
// to the result type, so f32 results are the correctly rounded f32 of the double computation.
// The op kind is switched on once per tensor, never per element: the loops below are templates
// over the scalar function.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include "ir/Op.h"
#include "ir/interp/EvalUtil.h"

namespace tessera::ir {

namespace {

// Calls f(out, off[0], ..., off[N-1]) for every element of `shape` in row-major order, where
// off[k] is the offset of that element in operand k under numpy broadcasting.
template <size_t N, typename F>
void forEachBroadcast(const std::vector<int64_t>& shape,
                      const std::array<const Tensor*, N>& operands, F&& f) {
  int64_t total = numElementsOf(shape);
  if (total == 0) return;
  std::array<std::vector<int64_t>, N> strides;
  bool same = true;
  for (size_t k = 0; k < N; ++k) {
    strides[k] = broadcastStrides(operands[k]->shape(), shape);
    same = same && operands[k]->shape() == shape;
  }
  std::array<int64_t, N> off{};
  if (same) {  // the common case: no broadcasting, every operand walks in step
    for (int64_t i = 0; i < total; ++i) {
      off.fill(i);
      f(i, off);
    }
    return;
  }
  if (shape.empty()) {
    f(0, off);
    return;
  }
  // Walk the outer dims with an odometer and the innermost dim in a tight loop.
  int rank = static_cast<int>(shape.size());
  int64_t inner = shape[rank - 1];
  std::vector<int64_t> idx(rank - 1, 0);
  std::array<int64_t, N> base{};
  for (int64_t out = 0; out < total; out += inner) {
    std::array<int64_t, N> innerStride;
    for (size_t k = 0; k < N; ++k) innerStride[k] = strides[k][rank - 1];
    for (int64_t j = 0; j < inner; ++j) {
      for (size_t k = 0; k < N; ++k) off[k] = base[k] + j * innerStride[k];
      f(out + j, off);
    }
    for (int d = rank - 2; d >= 0; --d) {
      for (size_t k = 0; k < N; ++k) base[k] += strides[k][d];
      if (++idx[d] < shape[d]) break;
      for (size_t k = 0; k < N; ++k) base[k] -= strides[k][d] * shape[d];
      idx[d] = 0;
    }
  }
}

template <typename F>
Tensor mapUnary(const Tensor& x, DType dtype, F f) {
  Tensor out(dtype, x.shape());
  const std::vector<double>& in = x.data();
  for (int64_t i = 0; i < x.numElements(); ++i) out.set(i, f(in[i]));
  return out;
}

template <typename F>
Tensor mapBinary(const Tensor& a, const Tensor& b, const std::vector<int64_t>& shape, DType dtype,
                 F f) {
  Tensor out(dtype, shape);
  const std::vector<double>& da = a.data();
  const std::vector<double>& db = b.data();
  forEachBroadcast<2>(shape, {&a, &b}, [&](int64_t i, const std::array<int64_t, 2>& off) {
    out.set(i, f(da[off[0]], db[off[1]]));
  });
  return out;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// NaN-propagating max / min (numpy's maximum / minimum), unlike std::max.
double nanMax(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
  return a > b ? a : b;
}
double nanMin(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
  return a < b ? a : b;
}

}  // namespace

StatusOr<std::vector<Tensor>> evalUnary(const EvalContext& ctx) {
  const Tensor& x = *ctx.operands[0];
  DType t = ctx.resultDTypes[0];
  constexpr double kSqrt2 = 1.41421356237309504880;
  constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2 / pi)
  switch (ctx.op.kind()) {
    case OpKind::Neg: return std::vector<Tensor>{mapUnary(x, t, [](double v) { return -v; })};
    case OpKind::Abs:
      return std::vector<Tensor>{mapUnary(x, t, [](double v) { return std::fabs(v); })};
    case OpKind::Exp:
      return std::vector<Tensor>{mapUnary(x, t, [](double v) { return std::exp(v); })};
    case OpKind::Log:
      return std::vector<Tensor>{mapUnary(x, t, [](double v) { return std::log(v); })};
    case OpKind::Sqrt:
      return std::vector<Tensor>{mapUnary(x, t, [](double v) { return std::sqrt(v); })};
    case OpKind::Rsqrt:
      return std::vector<Tensor>{mapUnary(x, t, [](double v) { return 1.0 / std::sqrt(v); })};
    case OpKind::Tanh:
      return std::vector<Tensor>{mapUnary(x, t, [](double v) { return std::tanh(v); })};
    case OpKind::Sigmoid: return std::vector<Tensor>{mapUnary(x, t, sigmoid)};
    case OpKind::Relu:
      // NaN stays NaN (v > 0 is false, but returning 0 would hide it).
      return std::vector<Tensor>{
          mapUnary(x, t, [](double v) { return std::isnan(v) ? v : (v > 0 ? v : 0.0); })};
    case OpKind::Gelu:
      if (ctx.op.enumAttr<GeluApprox>("approximate", GeluApprox::None) == GeluApprox::Tanh)
        return std::vector<Tensor>{mapUnary(x, t, [&](double v) {
          return 0.5 * v * (1.0 + std::tanh(kSqrt2OverPi * (v + 0.044715 * v * v * v)));
        })};
      // 0.5 x (1 + erf(x / sqrt 2)) computed as 0.5 x erfc(-x / sqrt 2), the same function
      // without the cancellation of 1 + erf for negative x.
      return std::vector<Tensor>{
          mapUnary(x, t, [&](double v) { return 0.5 * v * std::erfc(-v / kSqrt2); })};
    case OpKind::Silu:
      return std::vector<Tensor>{mapUnary(x, t, [](double v) { return v * sigmoid(v); })};
    case OpKind::Erf:
      return std::vector<Tensor>{mapUnary(x, t, [](double v) { return std::erf(v); })};
    case OpKind::Sin:
      return std::vector<Tensor>{mapUnary(x, t, [](double v) { return std::sin(v); })};
    case OpKind::Cos:
      return std::vector<Tensor>{mapUnary(x, t, [](double v) { return std::cos(v); })};
    default:
      assert(false && "evalUnary called for a non-unary op");
      return ctx.error("has no unary semantics");
  }
}

StatusOr<std::vector<Tensor>> evalBinary(const EvalContext& ctx) {
  const Tensor& a = *ctx.operands[0];
  const Tensor& b = *ctx.operands[1];
  const std::vector<int64_t>& shape = ctx.resultShapes[0];
  DType t = ctx.resultDTypes[0];
  auto run = [&](auto f) { return std::vector<Tensor>{mapBinary(a, b, shape, t, f)}; };
  switch (ctx.op.kind()) {
    case OpKind::Add: return run([](double x, double y) { return x + y; });
    case OpKind::Sub: return run([](double x, double y) { return x - y; });
    case OpKind::Mul: return run([](double x, double y) { return x * y; });
    case OpKind::Div:
      if (isInteger(t)) {
        // C semantics: the quotient truncates toward zero; a zero divisor is the user's error.
        if (numElementsOf(shape) > 0)
          for (double y : b.data())
            if (y == 0) return ctx.error("integer division by zero");
        return run([](double x, double y) {
          auto xi = static_cast<int64_t>(x), yi = static_cast<int64_t>(y);
          if (yi == -1) return -x;  // avoids INT64_MIN / -1, which C leaves undefined
          return static_cast<double>(xi / yi);
        });
      }
      return run([](double x, double y) { return x / y; });
    // For integers pow is computed in double and truncated: 2^-1 is 0, as in C's (int)pow.
    case OpKind::Pow: return run([](double x, double y) { return std::pow(x, y); });
    case OpKind::Max: return run(nanMax);
    case OpKind::Min: return run(nanMin);
    default:
      assert(false && "evalBinary called for a non-binary op");
      return ctx.error("has no binary semantics");
  }
}

StatusOr<std::vector<Tensor>> evalCompare(const EvalContext& ctx) {
  const Tensor& a = *ctx.operands[0];
  const Tensor& b = *ctx.operands[1];
  const std::vector<int64_t>& shape = ctx.resultShapes[0];
  auto run = [&](auto f) {
    return std::vector<Tensor>{mapBinary(a, b, shape, DType::Bool, [&](double x, double y) {
      return f(x, y) ? 1.0 : 0.0;
    })};
  };
  // IEEE semantics: every comparison with NaN is false except ne.
  switch (ctx.op.enumAttr<CompareDir>("dir", CompareDir::Eq)) {
    case CompareDir::Eq: return run([](double x, double y) { return x == y; });
    case CompareDir::Ne: return run([](double x, double y) { return x != y; });
    case CompareDir::Lt: return run([](double x, double y) { return x < y; });
    case CompareDir::Le: return run([](double x, double y) { return x <= y; });
    case CompareDir::Gt: return run([](double x, double y) { return x > y; });
    case CompareDir::Ge: return run([](double x, double y) { return x >= y; });
  }
  return ctx.error("unknown comparison direction");
}

StatusOr<std::vector<Tensor>> evalSelect(const EvalContext& ctx) {
  const Tensor& c = *ctx.operands[0];
  const Tensor& a = *ctx.operands[1];
  const Tensor& b = *ctx.operands[2];
  Tensor out(ctx.resultDTypes[0], ctx.resultShapes[0]);
  const std::vector<double>& dc = c.data();
  const std::vector<double>& da = a.data();
  const std::vector<double>& db = b.data();
  forEachBroadcast<3>(ctx.resultShapes[0], {&c, &a, &b},
                      [&](int64_t i, const std::array<int64_t, 3>& off) {
                        out.set(i, dc[off[0]] != 0 ? da[off[1]] : db[off[2]]);
                      });
  return std::vector<Tensor>{std::move(out)};
}

StatusOr<std::vector<Tensor>> evalCast(const EvalContext& ctx) {
  // The Tensor constructor rounds: floats to nearest-even, to integers toward zero, to bool x != 0.
  const Tensor& x = *ctx.operands[0];
  return std::vector<Tensor>{Tensor(ctx.resultDTypes[0], x.shape(), x.data())};
}

}  // namespace tessera::ir
