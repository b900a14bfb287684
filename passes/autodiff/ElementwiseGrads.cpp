// Gradient rules of the elementwise ops: the 14 unary functions, binary arithmetic with numpy
// broadcasting, select and cast.
//
// Conventions at points where the derivative does not exist (chosen to match PyTorch):
//   relu'(0) = 0 (mask x > 0); abs'(x) = sign(x), so abs'(0) = 0;
//   max(a, b) / min(a, b): the cotangent goes to the selected operand, and on a tie a == b it is
//   split evenly, half to each (torch.maximum / torch.minimum do the same);
//   pow: d/db a^b = a^b log a is emitted as is (NaN for a < 0, as the function itself is there).
// A cast between float types passes the cotangent back through the opposite cast (the rounding
// is treated as the identity, the straight-through convention); a cast from or to an integer or
// bool type is piecewise constant, so no gradient flows through it.
#include <cmath>

#include "passes/autodiff/GradBuilders.h"

namespace tessera::passes {

namespace {

using ir::OpKind;
using ir::Value;

// Scalar helpers: every constant is a rank-0 `full` that broadcasts against any shape.
struct Emitter {
  GradContext& c;
  ir::DType dtype;

  StatusOr<Value*> k(double v) { return gradb::scalar(c, dtype, v); }
  StatusOr<Value*> un(OpKind kind, Value* x) { return c.emit(kind, {x}); }
  StatusOr<Value*> bin(OpKind kind, Value* a, Value* b) { return c.emit(kind, {a, b}); }
  StatusOr<Value*> mulK(Value* x, double v) {
    TRY_ASSIGN(Value * s, k(v));
    return bin(OpKind::Mul, x, s);
  }
  // `a dir b` as 0/1 in `dtype`.
  StatusOr<Value*> mask(Value* a, ir::CompareDir dir, Value* b) {
    TRY_ASSIGN(Value * m,
               c.emit(OpKind::Compare, {a, b}, {{"dir", ir::makeEnum(ir::kCompareDirEnum, dir)}}));
    return c.emit(OpKind::Cast, {m}, {{"dtype", dtype}});
  }
};

// dy/dx for y = op(x), as a value of x's type; `y` is the forward result.
StatusOr<Value*> unaryDerivative(Emitter& e, const ir::Op& op, Value* x, Value* y) {
  constexpr double kInvSqrt2 = 0.70710678118654752440;
  constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1 / sqrt(2 pi)
  constexpr double kTwoOverSqrtPi = 1.12837916709551257390;  // 2 / sqrt(pi)
  constexpr double kSqrt2OverPi = 0.79788456080286535588;    // sqrt(2 / pi)
  switch (op.kind()) {
    case OpKind::Abs: {  // sign(x) = [x > 0] - [x < 0]
      TRY_ASSIGN(Value * zero, e.k(0));
      TRY_ASSIGN(Value * pos, e.mask(x, ir::CompareDir::Gt, zero));
      TRY_ASSIGN(Value * neg, e.mask(x, ir::CompareDir::Lt, zero));
      return e.bin(OpKind::Sub, pos, neg);
    }
    case OpKind::Exp: return y;
    case OpKind::Log: {
      TRY_ASSIGN(Value * one, e.k(1));
      return e.bin(OpKind::Div, one, x);
    }
    case OpKind::Sqrt: {  // 1 / (2 sqrt x)
      TRY_ASSIGN(Value * half, e.k(0.5));
      return e.bin(OpKind::Div, half, y);
    }
    case OpKind::Rsqrt: {  // -x^(-3/2) / 2 = -y / (2x)
      TRY_ASSIGN(Value * t, e.bin(OpKind::Div, y, x));
      return e.mulK(t, -0.5);
    }
    case OpKind::Tanh: {  // 1 - y^2
      TRY_ASSIGN(Value * yy, e.bin(OpKind::Mul, y, y));
      TRY_ASSIGN(Value * one, e.k(1));
      return e.bin(OpKind::Sub, one, yy);
    }
    case OpKind::Sigmoid: {  // y (1 - y)
      TRY_ASSIGN(Value * one, e.k(1));
      TRY_ASSIGN(Value * oneMinus, e.bin(OpKind::Sub, one, y));
      return e.bin(OpKind::Mul, y, oneMinus);
    }
    case OpKind::Relu: {
      TRY_ASSIGN(Value * zero, e.k(0));
      return e.mask(x, ir::CompareDir::Gt, zero);
    }
    case OpKind::Gelu: {
      if (op.enumAttr<ir::GeluApprox>("approximate", ir::GeluApprox::None) ==
          ir::GeluApprox::Tanh) {
        // y = x/2 (1 + t), t = tanh(u), u = c (x + 0.044715 x^3):
        // y' = (1 + t)/2 + x/2 (1 - t^2) c (1 + 3 * 0.044715 x^2).
        TRY_ASSIGN(Value * xx, e.bin(OpKind::Mul, x, x));
        TRY_ASSIGN(Value * xxx, e.bin(OpKind::Mul, xx, x));
        TRY_ASSIGN(Value * cubic, e.mulK(xxx, 0.044715));
        TRY_ASSIGN(Value * inner, e.bin(OpKind::Add, x, cubic));
        TRY_ASSIGN(Value * u, e.mulK(inner, kSqrt2OverPi));
        TRY_ASSIGN(Value * t, e.un(OpKind::Tanh, u));
        TRY_ASSIGN(Value * one, e.k(1));
        TRY_ASSIGN(Value * onePlusT, e.bin(OpKind::Add, one, t));
        TRY_ASSIGN(Value * left, e.mulK(onePlusT, 0.5));
        TRY_ASSIGN(Value * tt, e.bin(OpKind::Mul, t, t));
        TRY_ASSIGN(Value * sech2, e.bin(OpKind::Sub, one, tt));
        TRY_ASSIGN(Value * xx3, e.mulK(xx, 3 * 0.044715 * kSqrt2OverPi));
        TRY_ASSIGN(Value * cK, e.k(kSqrt2OverPi));
        TRY_ASSIGN(Value * du, e.bin(OpKind::Add, cK, xx3));  // du/dx
        TRY_ASSIGN(Value * halfX, e.mulK(x, 0.5));
        TRY_ASSIGN(Value * r1, e.bin(OpKind::Mul, halfX, sech2));
        TRY_ASSIGN(Value * right, e.bin(OpKind::Mul, r1, du));
        return e.bin(OpKind::Add, left, right);
      }
      // y = x Phi(x): y' = Phi(x) + x phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2,
      // phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
      TRY_ASSIGN(Value * xs, e.mulK(x, kInvSqrt2));
      TRY_ASSIGN(Value * erf, e.un(OpKind::Erf, xs));
      TRY_ASSIGN(Value * one, e.k(1));
      TRY_ASSIGN(Value * onePlus, e.bin(OpKind::Add, one, erf));
      TRY_ASSIGN(Value * cdf, e.mulK(onePlus, 0.5));
      TRY_ASSIGN(Value * xx, e.bin(OpKind::Mul, x, x));
      TRY_ASSIGN(Value * arg, e.mulK(xx, -0.5));
      TRY_ASSIGN(Value * ex, e.un(OpKind::Exp, arg));
      TRY_ASSIGN(Value * pdf, e.mulK(ex, kInvSqrt2Pi));
      TRY_ASSIGN(Value * xpdf, e.bin(OpKind::Mul, x, pdf));
      return e.bin(OpKind::Add, cdf, xpdf);
    }
    case OpKind::Silu: {  // y = x s, s = sigmoid(x): y' = s (1 + x (1 - s))
      TRY_ASSIGN(Value * s, e.un(OpKind::Sigmoid, x));
      TRY_ASSIGN(Value * one, e.k(1));
      TRY_ASSIGN(Value * oneMinus, e.bin(OpKind::Sub, one, s));
      TRY_ASSIGN(Value * xt, e.bin(OpKind::Mul, x, oneMinus));
      TRY_ASSIGN(Value * onePlus, e.bin(OpKind::Add, one, xt));
      return e.bin(OpKind::Mul, s, onePlus);
    }
    case OpKind::Erf: {  // 2/sqrt(pi) exp(-x^2)
      TRY_ASSIGN(Value * xx, e.bin(OpKind::Mul, x, x));
      TRY_ASSIGN(Value * negXX, e.un(OpKind::Neg, xx));
      TRY_ASSIGN(Value * ex, e.un(OpKind::Exp, negXX));
      return e.mulK(ex, kTwoOverSqrtPi);
    }
    case OpKind::Sin: return e.un(OpKind::Cos, x);
    case OpKind::Cos: {
      TRY_ASSIGN(Value * s, e.un(OpKind::Sin, x));
      return e.un(OpKind::Neg, s);
    }
    default:
      return e.c.error("no unary derivative for this op");
  }
}

// For max (min): 1 where `self` is strictly larger (smaller) than `other`, 1/2 where they are
// equal, 0 elsewhere, as ([self > other] + [self >= other]) / 2.
StatusOr<Value*> winnerWeight(Emitter& e, Value* self, Value* other, bool isMax) {
  auto strict = isMax ? ir::CompareDir::Gt : ir::CompareDir::Lt;
  auto weak = isMax ? ir::CompareDir::Ge : ir::CompareDir::Le;
  TRY_ASSIGN(Value * s, e.mask(self, strict, other));
  TRY_ASSIGN(Value * w, e.mask(self, weak, other));
  TRY_ASSIGN(Value * sum, e.bin(OpKind::Add, s, w));
  return e.mulK(sum, 0.5);
}

}  // namespace

StatusOr<std::vector<Value*>> gradUnary(GradContext& c) {
  Value* g = c.resultGrads[0];
  if (!g) return gradb::noGrads(c);
  Value* x = c.op.operand(0);
  Emitter e{c, x->type().dtype};
  if (c.op.kind() == OpKind::Neg) {
    TRY_ASSIGN(Value * dx, e.un(OpKind::Neg, g));
    return std::vector<Value*>{dx};
  }
  TRY_ASSIGN(Value * d, unaryDerivative(e, c.op, x, c.op.result(0)));
  TRY_ASSIGN(Value * dx, e.bin(OpKind::Mul, g, d));
  return std::vector<Value*>{dx};
}

StatusOr<std::vector<Value*>> gradBinary(GradContext& c) {
  Value* g = c.resultGrads[0];
  if (!g) return gradb::noGrads(c);
  Value* a = c.op.operand(0);
  Value* b = c.op.operand(1);
  Value* y = c.op.result(0);
  Emitter e{c, y->type().dtype};
  Value* ga = nullptr;  // cotangents at the result's (broadcast) shape
  Value* gb = nullptr;
  switch (c.op.kind()) {
    case OpKind::Add:
      ga = gb = g;
      break;
    case OpKind::Sub: {
      ga = g;
      TRY_ASSIGN(gb, e.un(OpKind::Neg, g));
      break;
    }
    case OpKind::Mul: {
      TRY_ASSIGN(ga, e.bin(OpKind::Mul, g, b));
      TRY_ASSIGN(gb, e.bin(OpKind::Mul, g, a));
      break;
    }
    case OpKind::Div: {  // d/db (a/b) = -a/b^2 = -y/b
      TRY_ASSIGN(ga, e.bin(OpKind::Div, g, b));
      TRY_ASSIGN(Value * gy, e.bin(OpKind::Mul, g, y));
      TRY_ASSIGN(Value * q, e.bin(OpKind::Div, gy, b));
      TRY_ASSIGN(gb, e.un(OpKind::Neg, q));
      break;
    }
    case OpKind::Pow: {  // d/da a^b = b a^(b-1); d/db a^b = a^b log a
      TRY_ASSIGN(Value * one, e.k(1));
      TRY_ASSIGN(Value * bm1, e.bin(OpKind::Sub, b, one));
      TRY_ASSIGN(Value * p, e.bin(OpKind::Pow, a, bm1));
      TRY_ASSIGN(Value * bp, e.bin(OpKind::Mul, b, p));
      TRY_ASSIGN(ga, e.bin(OpKind::Mul, g, bp));
      TRY_ASSIGN(Value * loga, e.un(OpKind::Log, a));
      TRY_ASSIGN(Value * ylog, e.bin(OpKind::Mul, y, loga));
      TRY_ASSIGN(gb, e.bin(OpKind::Mul, g, ylog));
      break;
    }
    case OpKind::Max:
    case OpKind::Min: {
      // Weight of a: 1 where a wins strictly, 1/2 on a tie, 0 where it loses, computed as
      // ([a > b] + [a >= b]) / 2 (mirrored for min); b gets the mirror image.
      bool isMax = c.op.kind() == OpKind::Max;
      TRY_ASSIGN(Value * wa, winnerWeight(e, a, b, isMax));
      TRY_ASSIGN(Value * wb, winnerWeight(e, b, a, isMax));
      TRY_ASSIGN(ga, e.bin(OpKind::Mul, g, wa));
      TRY_ASSIGN(gb, e.bin(OpKind::Mul, g, wb));
      break;
    }
    default:
      return c.error("no binary gradient rule for this op");
  }
  TRY_ASSIGN(Value * da, c.unbroadcast(ga, a->type()));
  TRY_ASSIGN(Value * db, c.unbroadcast(gb, b->type()));
  return std::vector<Value*>{da, db};
}

StatusOr<std::vector<Value*>> gradSelect(GradContext& c) {
  Value* g = c.resultGrads[0];
  if (!g) return gradb::noGrads(c);
  Value* cond = c.op.operand(0);
  TRY_ASSIGN(Value * zero, gradb::scalar(c, g->type().dtype, 0));
  TRY_ASSIGN(Value * ga, c.emit(OpKind::Select, {cond, g, zero}));
  TRY_ASSIGN(Value * gb, c.emit(OpKind::Select, {cond, zero, g}));
  // select broadcasts the condition too, so each branch's cotangent may be larger than it.
  TRY_ASSIGN(Value * da, c.unbroadcast(ga, c.op.operand(1)->type()));
  TRY_ASSIGN(Value * db, c.unbroadcast(gb, c.op.operand(2)->type()));
  return std::vector<Value*>{nullptr, da, db};
}

StatusOr<std::vector<Value*>> gradCast(GradContext& c) {
  Value* g = c.resultGrads[0];
  ir::DType from = c.op.operand(0)->type().dtype;
  if (!g || !ir::isFloat(from) || !ir::isFloat(g->type().dtype)) return gradb::noGrads(c);
  if (from == g->type().dtype) return std::vector<Value*>{g};
  TRY_ASSIGN(Value * back, c.emit(OpKind::Cast, {g}, {{"dtype", from}}));
  return std::vector<Value*>{back};
}

}  // namespace tessera::passes
