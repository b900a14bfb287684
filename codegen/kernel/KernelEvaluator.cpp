// The scalar reference for kernel descriptions (see KernelEvaluator.h). Each instruction is
// evaluated over a whole row at once: row-level values are one scalar, element-level values an
// array over j. Recomputing an element value in several passes (as the compiled code does) gives
// the same bits as computing it once, so one array per instruction is the literal meaning.
#include "codegen/kernel/KernelEvaluator.h"

#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

namespace tessera::codegen {

namespace {

// One value of any ScalarType; only the member of the instruction's type is meaningful.
struct V {
  float f32 = 0;
  double f64 = 0;
  int64_t i = 0;  // I32 (sign-extended), I64, Bool (0 / 1)
};

template <typename T>
T get(const V& v) {
  if constexpr (std::is_same_v<T, float>) return v.f32;
  else if constexpr (std::is_same_v<T, double>) return v.f64;
  else return static_cast<T>(v.i);
}

template <typename T>
V make(T x) {
  V v;
  if constexpr (std::is_same_v<T, float>) v.f32 = x;
  else if constexpr (std::is_same_v<T, double>) v.f64 = x;
  else v.i = static_cast<int64_t>(x);
  return v;
}

// Calls f(T{}) with T the C type of `t` (Bool as bool).
template <typename F>
V dispatch(ScalarType t, F&& f) {
  switch (t) {
    case ScalarType::F32: return f(float{});
    case ScalarType::F64: return f(double{});
    case ScalarType::I32: return f(int32_t{});
    case ScalarType::I64: return f(int64_t{});
    case ScalarType::Bool: return f(bool{});
  }
  return V{};
}

template <typename T>
T wrapAdd(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
}
template <typename T>
T wrapSub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
}
template <typename T>
T wrapMul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
}

template <typename T>
T maxOf(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return a;
  }
  return a > b ? a : b;
}
template <typename T>
T minOf(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return a;
  }
  return a < b ? a : b;
}

// 1 / (1 + exp(-x)) for x >= 0, exp(x) / (1 + exp(x)) below (exp(-x) would overflow).
template <typename T>
T sigmoid(T x) {
  T e = std::exp(-std::fabs(x));
  return x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}

template <typename T>
T unaryOp(UnaryFn f, T x) {
  if constexpr (std::is_same_v<T, bool>) {
    assert(f == UnaryFn::Not);
    return !x;
  } else if constexpr (std::is_floating_point_v<T>) {
    const T half = T(0.5), one = T(1);
    switch (f) {
      case UnaryFn::Neg: return -x;
      case UnaryFn::Abs: return std::fabs(x);
      case UnaryFn::Exp: return std::exp(x);
      case UnaryFn::Log: return std::log(x);
      case UnaryFn::Sqrt: return std::sqrt(x);
      case UnaryFn::Rsqrt: return one / std::sqrt(x);
      case UnaryFn::Tanh: return std::tanh(x);
      case UnaryFn::Sigmoid: return sigmoid(x);
      case UnaryFn::Relu: return (std::isnan(x) || x > T(0)) ? x : T(0);
      case UnaryFn::GeluErf: return half * x * std::erfc(-x * T(0.70710678118654752440));
      case UnaryFn::GeluTanh: {
        T inner = T(0.79788456080286535588) * (x + T(0.044715) * x * x * x);
        return half * x * (one + std::tanh(inner));
      }
      case UnaryFn::Silu: return x * sigmoid(x);
      case UnaryFn::Erf: return std::erf(x);
      case UnaryFn::Sin: return std::sin(x);
      case UnaryFn::Cos: return std::cos(x);
      case UnaryFn::Not: break;
    }
    assert(false && "unary function not defined on floats");
    return x;
  } else {
    switch (f) {
      case UnaryFn::Neg: return wrapSub(T(0), x);
      case UnaryFn::Abs: return x < 0 ? wrapSub(T(0), x) : x;
      case UnaryFn::Relu: return x > 0 ? x : T(0);
      default: break;
    }
    assert(false && "unary function not defined on integers");
    return x;
  }
}

template <typename T>
T binaryOp(BinaryFn f, T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    assert(f == BinaryFn::And || f == BinaryFn::Or);
    return f == BinaryFn::And ? (a && b) : (a || b);
  } else if constexpr (std::is_floating_point_v<T>) {
    switch (f) {
      case BinaryFn::Add: return a + b;
      case BinaryFn::Sub: return a - b;
      case BinaryFn::Mul: return a * b;
      case BinaryFn::Div: return a / b;
      case BinaryFn::Pow: return std::pow(a, b);
      case BinaryFn::Max: return maxOf(a, b);
      case BinaryFn::Min: return minOf(a, b);
      default: break;
    }
    assert(false && "binary function not defined on floats");
    return a;
  } else {
    switch (f) {
      case BinaryFn::Add: return wrapAdd(a, b);
      case BinaryFn::Sub: return wrapSub(a, b);
      case BinaryFn::Mul: return wrapMul(a, b);
      case BinaryFn::Div:
        if (b == 0) return T(0);
        if (b == T(-1)) return wrapSub(T(0), a);  // INT_MIN / -1 wraps to INT_MIN
        return a / b;
      case BinaryFn::Max: return maxOf(a, b);
      case BinaryFn::Min: return minOf(a, b);
      default: break;
    }
    assert(false && "binary function not defined on integers");
    return a;
  }
}

template <typename T>
bool compareOp(CompareFn f, T a, T b) {
  switch (f) {
    case CompareFn::Eq: return a == b;
    case CompareFn::Ne: return a != b;
    case CompareFn::Lt: return a < b;
    case CompareFn::Le: return a <= b;
    case CompareFn::Gt: return a > b;
    case CompareFn::Ge: return a >= b;
  }
  return false;
}

// Float → integer: truncate toward zero, saturate, NaN → 0 (LLVM's fptosi.sat).
template <typename I, typename F>
I saturatingToInt(F x) {
  if (std::isnan(x)) return 0;
  F t = std::trunc(x);
  if (t <= static_cast<F>(std::numeric_limits<I>::min())) return std::numeric_limits<I>::min();
  // 2^31 / 2^63 are exactly representable; anything at or above saturates.
  if (t >= -static_cast<F>(std::numeric_limits<I>::min())) return std::numeric_limits<I>::max();
  return static_cast<I>(t);
}

template <typename To, typename From>
To castValue(From x) {
  if constexpr (std::is_same_v<To, bool>) {
    return x != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    return saturatingToInt<To>(x);
  } else {
    return static_cast<To>(x);  // int→int wraps; int→float and float→float round to nearest
  }
}

V castV(ScalarType from, ScalarType to, const V& v) {
  return dispatch(from, [&](auto f) {
    using F = decltype(f);
    F x = get<F>(v);
    return dispatch(to, [&](auto t) { return make(castValue<decltype(t)>(x)); });
  });
}

V constV(ScalarType t, double c) {
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    if constexpr (std::is_floating_point_v<T>) return make(static_cast<T>(c));
    else return make(static_cast<T>(static_cast<int64_t>(c)));
  });
}

template <typename T>
T reduceIdentity(ReduceFn f) {
  if (f == ReduceFn::Sum) return T(0);
  if constexpr (std::is_floating_point_v<T>) {
    T inf = std::numeric_limits<T>::infinity();
    return f == ReduceFn::Max ? -inf : inf;
  } else {
    return f == ReduceFn::Max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
}

template <typename T>
T reduceStep(ReduceFn f, T acc, T x) {
  switch (f) {
    case ReduceFn::Sum: return binaryOp(BinaryFn::Add, acc, x);
    case ReduceFn::Max: return maxOf(acc, x);
    case ReduceFn::Min: return minOf(acc, x);
  }
  return acc;
}

// The documented order: kReduceLanes lane accumulators, a fixed tree, then the tail in order.
template <typename T>
T reduceRow(ReduceFn f, const std::vector<V>& xs) {
  int64_t n = static_cast<int64_t>(xs.size());
  int64_t body = n / kReduceLanes * kReduceLanes;
  T acc[kReduceLanes];
  for (T& a : acc) a = reduceIdentity<T>(f);
  for (int64_t j = 0; j < body; ++j)
    acc[j % kReduceLanes] = reduceStep(f, acc[j % kReduceLanes], get<T>(xs[j]));
  for (int w = kReduceLanes / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] = reduceStep(f, acc[l], acc[l + w]);
  for (int64_t j = body; j < n; ++j) acc[0] = reduceStep(f, acc[0], get<T>(xs[j]));
  return acc[0];
}

V loadV(ScalarType t, const void* base, int64_t index) {
  const char* p = static_cast<const char*>(base) + index * scalarTypeBytes(t);
  return dispatch(t, [&](auto z) {
    using T = decltype(z);
    if constexpr (std::is_same_v<T, bool>) {
      uint8_t b;
      std::memcpy(&b, p, 1);
      return make(b != 0);
    } else {
      T x;
      std::memcpy(&x, p, sizeof(T));
      return make(x);
    }
  });
}

void storeV(ScalarType t, void* base, int64_t index, const V& v) {
  char* p = static_cast<char*>(base) + index * scalarTypeBytes(t);
  dispatch(t, [&](auto z) {
    using T = decltype(z);
    if constexpr (std::is_same_v<T, bool>) {
      uint8_t b = v.i != 0 ? 1 : 0;
      std::memcpy(p, &b, 1);
    } else {
      T x = get<T>(v);
      std::memcpy(p, &x, sizeof(T));
    }
    return V{};
  });
}

}  // namespace

int64_t kernelRowCount(const KernelDesc& desc, const KernelArgs& args) {
  int64_t rows = 1;
  for (int k = 0; k < desc.outerRank; ++k) rows *= args.outerExtents[k];
  return rows;
}

void evaluateKernel(const KernelDesc& desc, const KernelArgs& args, int64_t rowBegin,
                    int64_t rowEnd) {
  const int rank = desc.outerRank;
  const int64_t cols = args.cols;
  const int numIn = static_cast<int>(desc.inputs.size());
  const size_t n = desc.body.size();
  std::vector<V> rowVal(n);
  std::vector<std::vector<V>> elemVal(n);
  std::vector<int64_t> coord(rank);
  auto bufferType = [&](int b) {
    return b < numIn ? desc.inputs[b].type : desc.outputs[b - numIn].type;
  };
  auto bufferAccess = [&](int b) {
    return b < numIn ? desc.inputs[b].inner : desc.outputs[b - numIn].inner;
  };

  // The levels, recomputed here rather than read from Instr::rowLevel, so that a description
  // nobody called validate() on still evaluates correctly (validity itself is the caller's part).
  std::vector<char> rowLevel(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const Instr& in = desc.body[i];
    switch (in.kind) {
      case InstrKind::Load:
      case InstrKind::Store: rowLevel[i] = bufferAccess(in.buffer) == InnerAccess::Broadcast; break;
      case InstrKind::Const:
      case InstrKind::Reduce: rowLevel[i] = 1; break;
      case InstrKind::Coord: rowLevel[i] = in.dim < rank; break;
      default:
        rowLevel[i] = 1;
        for (int a : in.args) rowLevel[i] &= rowLevel[a];
    }
  }

  for (int64_t r = rowBegin; r < rowEnd; ++r) {
    int64_t rest = r;
    for (int k = rank - 1; k >= 0; --k) {
      coord[k] = rest % args.outerExtents[k];
      rest /= args.outerExtents[k];
    }
    auto rowOffset = [&](int b) {
      const int64_t* s = args.strides + static_cast<int64_t>(b) * (rank + 1);
      int64_t off = 0;
      for (int k = 0; k < rank; ++k) off += coord[k] * s[k];
      return off;
    };
    auto elemIndex = [&](int b, int64_t j) {
      switch (bufferAccess(b)) {
        case InnerAccess::Contiguous: return rowOffset(b) + j;
        case InnerAccess::Broadcast: return rowOffset(b);
        case InnerAccess::Strided:
          return rowOffset(b) + j * args.strides[static_cast<int64_t>(b) * (rank + 1) + rank];
      }
      return int64_t{0};
    };

    for (size_t i = 0; i < n; ++i) {
      const Instr& in = desc.body[i];
      // The value of operand k at element j (row-level values broadcast along j).
      auto arg = [&](int k, int64_t j) -> const V& {
        int a = in.args[k];
        return rowLevel[a] ? rowVal[a] : elemVal[a][j];
      };
      auto compute = [&](int64_t j) -> V {
        switch (in.kind) {
          case InstrKind::Load:
            return loadV(in.type, args.buffers[in.buffer], elemIndex(in.buffer, j));
          case InstrKind::Const: return constV(in.type, in.constant);
          case InstrKind::Coord: return make<int64_t>(in.dim < rank ? coord[in.dim] : j);
          case InstrKind::Unary:
            return dispatch(in.type, [&](auto z) {
              using T = decltype(z);
              return make<T>(unaryOp<T>(in.unary, get<T>(arg(0, j))));
            });
          case InstrKind::Binary:
            return dispatch(in.type, [&](auto z) {
              using T = decltype(z);
              return make<T>(binaryOp<T>(in.binary, get<T>(arg(0, j)), get<T>(arg(1, j))));
            });
          case InstrKind::Compare:
            return dispatch(desc.body[in.args[0]].type, [&](auto z) {
              using T = decltype(z);
              return make<bool>(compareOp<T>(in.compare, get<T>(arg(0, j)), get<T>(arg(1, j))));
            });
          case InstrKind::Select: return arg(0, j).i != 0 ? arg(1, j) : arg(2, j);
          case InstrKind::Cast: return castV(desc.body[in.args[0]].type, in.type, arg(0, j));
          case InstrKind::Reduce:
          case InstrKind::Store: break;
        }
        assert(false);
        return V{};
      };

      switch (in.kind) {
        case InstrKind::Reduce: {
          const std::vector<V>& xs = elemVal[in.args[0]];
          rowVal[i] = dispatch(in.type, [&](auto z) {
            using T = decltype(z);
            if constexpr (std::is_same_v<T, bool>) return V{};
            else return make<T>(reduceRow<T>(in.reduce, xs));
          });
          break;
        }
        case InstrKind::Store: {
          ScalarType t = bufferType(in.buffer);
          if (rowLevel[i]) {
            storeV(t, args.buffers[in.buffer], rowOffset(in.buffer), arg(0, 0));
          } else {
            for (int64_t j = 0; j < cols; ++j)
              storeV(t, args.buffers[in.buffer], elemIndex(in.buffer, j), arg(0, j));
          }
          break;
        }
        default:
          if (rowLevel[i]) {
            rowVal[i] = compute(0);
          } else {
            elemVal[i].resize(cols);
            for (int64_t j = 0; j < cols; ++j) elemVal[i][j] = compute(j);
          }
      }
    }
  }
}

}  // namespace tessera::codegen
