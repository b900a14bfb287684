// IR emitters for the f32 transcendentals (see VectorMath.h). The polynomials and the range
// reductions follow Cephes' single-precision expf/logf/tanhf/erff/erfcf; the branches of the scalar
// originals become selects between values computed on every lane.
#include "codegen/llvm/VectorMath.h"

#include <initializer_list>
#include <string>

#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/Module.h"

namespace tessera::codegen::llvmgen {

using llvm::Value;

namespace {

// Helpers bound to the type of the value being computed (float or <W x float>).
struct F32Math {
  llvm::IRBuilderBase& b;
  llvm::Module& m;
  llvm::Type* ft;  // float or <W x float>
  llvm::Type* it;  // i32 or <W x i32>

  Value* c(double v) { return llvm::ConstantFP::get(ft, v); }
  Value* ci(int64_t v) { return llvm::ConstantInt::get(it, v, true); }
  Value* add(Value* x, Value* y) { return b.CreateFAdd(x, y); }
  Value* sub(Value* x, Value* y) { return b.CreateFSub(x, y); }
  Value* mul(Value* x, Value* y) { return b.CreateFMul(x, y); }
  Value* div(Value* x, Value* y) { return b.CreateFDiv(x, y); }
  Value* sel(Value* cond, Value* x, Value* y) { return b.CreateSelect(cond, x, y); }
  Value* unary(llvm::Intrinsic::ID id, Value* x) {
    return b.CreateUnaryIntrinsic(id, x);
  }
  Value* fabs(Value* x) { return unary(llvm::Intrinsic::fabs, x); }
  Value* copysign(Value* mag, Value* sign) {
    return b.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, mag, sign);
  }
  Value* isNan(Value* x) { return b.CreateFCmpUNO(x, x); }
  // Horner, highest coefficient first: ((c0 x + c1) x + c2) ...
  Value* poly(Value* x, std::initializer_list<double> cs) {
    auto it2 = cs.begin();
    Value* acc = c(*it2++);
    for (; it2 != cs.end(); ++it2) acc = add(mul(acc, x), c(*it2));
    return acc;
  }
  // 2^n for an integer vector n in [-126, 127].
  Value* pow2(Value* n) {
    return b.CreateBitCast(b.CreateShl(b.CreateAdd(n, ci(127)), ci(23)), ft);
  }

  Value* exp(Value* x) {
    Value* xc = sel(b.CreateFCmpOGT(x, c(89.0)), c(89.0), x);
    xc = sel(b.CreateFCmpOLT(xc, c(-104.0)), c(-104.0), xc);
    Value* n = unary(llvm::Intrinsic::floor, add(mul(xc, c(1.44269504088896341)), c(0.5)));
    Value* r = sub(xc, mul(n, c(0.693359375)));
    r = sub(r, mul(n, c(-2.12194440e-4)));
    Value* z = mul(r, r);
    Value* p = poly(r, {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2,
                        1.6666665459E-1, 5.0000001201E-1});
    p = add(add(mul(p, z), r), c(1.0));
    // Scale by 2^n in two exact-or-once-rounded steps so that results in the subnormal range and
    // the overflow edge come out right (2^n itself may not be a normal float).
    Value* ni = b.CreateFPToSI(n, it);
    Value* n1 = b.CreateAShr(ni, ci(1));
    Value* n2 = b.CreateSub(ni, n1);
    Value* res = mul(mul(p, pow2(n1)), pow2(n2));
    return sel(isNan(x), x, res);
  }

  Value* log(Value* x) {
    Value* denorm = b.CreateFCmpOLT(x, c(1.17549435e-38));
    Value* xs = sel(denorm, mul(x, c(8388608.0)), x);
    Value* bits = b.CreateBitCast(xs, it);
    Value* e = b.CreateSub(b.CreateAnd(b.CreateLShr(bits, ci(23)), ci(0xff)), ci(126));
    e = b.CreateSub(e, b.CreateSelect(denorm, ci(23), ci(0)));
    Value* m = b.CreateBitCast(b.CreateOr(b.CreateAnd(bits, ci(0x807fffff)), ci(0x3f000000)), ft);
    Value* small = b.CreateFCmpOLT(m, c(0.707106781186547524));
    e = b.CreateSub(e, b.CreateSelect(small, ci(1), ci(0)));
    m = sel(small, sub(add(m, m), c(1.0)), sub(m, c(1.0)));
    Value* z = mul(m, m);
    Value* y = poly(m, {7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
                        1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
                        3.3333331174E-1});
    y = mul(mul(y, m), z);
    Value* fe = b.CreateSIToFP(e, ft);
    y = add(y, mul(fe, c(-2.12194440e-4)));
    y = add(y, mul(c(-0.5), z));
    Value* r = add(m, y);
    r = add(r, mul(fe, c(0.693359375)));
    const double inf = __builtin_inf();
    r = sel(b.CreateFCmpOEQ(x, c(inf)), c(inf), r);
    r = sel(b.CreateFCmpOEQ(x, c(0.0)), c(-inf), r);
    r = sel(b.CreateFCmpOLT(x, c(0.0)), c(__builtin_nan("")), r);
    return sel(isNan(x), x, r);
  }

  Value* tanh(Value* x) {
    Value* z = fabs(x);
    Value* e = exp(add(z, z));
    Value* big = copysign(sub(c(1.0), div(c(2.0), add(e, c(1.0)))), x);
    Value* s = mul(x, x);
    Value* p = poly(s, {-5.70498872745E-3, 2.06390887954E-2, -5.37397155531E-2, 1.33314422036E-1,
                        -3.33332819422E-1});
    Value* small = add(mul(mul(p, s), x), x);
    Value* r = sel(b.CreateFCmpOGE(z, c(0.625)), big, small);
    return sel(b.CreateFCmpOEQ(x, c(0.0)), x, r);
  }

  // exp(-x*x) without the error of rounding x*x first: x = hi + lo with hi*hi exact.
  // For 0 <= x <= 11 (the callers' range) hi keeps 12 significant bits, so |lo| < 2^-11 hi and
  // u = -lo (2 hi + lo) has |u| < 2^-3: exp(u) there is its Taylor series to u^5 (truncation
  // below (1/8)^6 / 720 < 2^-27 relative, a tenth of a float ulp), a third of the cost of a
  // second full exp.
  Value* expMinusSquare(Value* x) {
    Value* hi = b.CreateBitCast(b.CreateAnd(b.CreateBitCast(x, it), ci(0xfffff000)), ft);
    Value* lo = sub(x, hi);
    Value* e1 = exp(b.CreateFNeg(mul(hi, hi)));
    Value* u = b.CreateFNeg(mul(lo, add(add(hi, hi), lo)));
    Value* e2 = poly(u, {1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1.0, 1.0});
    return mul(e1, e2);
  }

  // erfc(x) for x >= 1 (other lanes compute garbage that the callers discard):
  // exp(-x^2) / x * P(1/x^2), with P for 1 <= x < 2 and R above.
  Value* erfcLarge(Value* x) {
    // erfc(11) is far below the smallest float; clamping keeps hi + hi and 1/x finite.
    x = sel(b.CreateFCmpOGT(x, c(11.0)), c(11.0), x);
    Value* z = expMinusSquare(x);
    Value* q = div(c(1.0), x);
    Value* y = mul(q, q);
    Value* p = poly(y, {2.326819970068386E-2, -1.387039388740657E-1, 3.687424674597105E-1,
                        -5.824733027278666E-1, 6.210004621745983E-1, -4.944515323274145E-1,
                        3.404879937665872E-1, -2.741127028184656E-1, 5.638259427386472E-1});
    Value* r = poly(y, {-1.047766399936249E+1, 1.297719955372516E+1, -7.495518717768503E+0,
                        2.921019019210786E+0, -1.015265279202700E+0, 4.218463358204948E-1,
                        -2.820767439740514E-1, 5.641895067754075E-1});
    return mul(mul(z, q), sel(b.CreateFCmpOLT(x, c(2.0)), p, r));
  }

  // erf(x) for |x| <= 1.
  Value* erfSmall(Value* x) {
    Value* z = mul(x, x);
    return mul(x, poly(z, {7.853861353153693E-5, -8.010193625184903E-4, 5.188327685732524E-3,
                           -2.685381193529856E-2, 1.128358514861418E-1, -3.761262582423300E-1,
                           1.128379165726710E+0}));
  }

  Value* erf(Value* x) {
    Value* ax = fabs(x);
    Value* big = copysign(sub(c(1.0), erfcLarge(ax)), x);
    return sel(b.CreateFCmpOLE(ax, c(1.0)), erfSmall(x), big);
  }

  Value* erfc(Value* x) {
    Value* ax = fabs(x);
    Value* y = erfcLarge(ax);
    Value* big = sel(b.CreateFCmpOLT(x, c(0.0)), sub(c(2.0), y), y);
    return sel(b.CreateFCmpOLT(ax, c(1.0)), sub(c(1.0), erfSmall(x)), big);
  }
};

// Applies a libm function lane by lane.
Value* libmPerLane(llvm::IRBuilderBase& b, llvm::Module& m, const std::string& name,
                   std::initializer_list<Value*> args) {
  Value* first = *args.begin();
  llvm::Type* t = first->getType();
  llvm::Type* st = t->getScalarType();
  std::vector<llvm::Type*> params(args.size(), st);
  llvm::FunctionCallee f = m.getOrInsertFunction(name, llvm::FunctionType::get(st, params, false));
  auto* vt = llvm::dyn_cast<llvm::FixedVectorType>(t);
  if (!vt) return b.CreateCall(f, std::vector<Value*>(args));
  Value* out = llvm::PoisonValue::get(t);
  for (unsigned l = 0; l < vt->getNumElements(); ++l) {
    std::vector<Value*> lane;
    for (Value* a : args) lane.push_back(b.CreateExtractElement(a, l));
    out = b.CreateInsertElement(out, b.CreateCall(f, lane), l);
  }
  return out;
}

const char* libmName(MathFn fn, bool f32) {
  switch (fn) {
    case MathFn::Exp: return f32 ? "expf" : "exp";
    case MathFn::Log: return f32 ? "logf" : "log";
    case MathFn::Tanh: return f32 ? "tanhf" : "tanh";
    case MathFn::Erf: return f32 ? "erff" : "erf";
    case MathFn::Erfc: return f32 ? "erfcf" : "erfc";
    case MathFn::Sin: return f32 ? "sinf" : "sin";
    case MathFn::Cos: return f32 ? "cosf" : "cos";
  }
  return "";
}

}  // namespace

Value* emitMath(llvm::IRBuilderBase& b, llvm::Module& m, MathFn fn, Value* x) {
  llvm::Type* t = x->getType();
  bool f32 = t->getScalarType()->isFloatTy();
  if (!f32 || fn == MathFn::Sin || fn == MathFn::Cos)
    return libmPerLane(b, m, libmName(fn, f32), {x});
  llvm::Type* it = b.getInt32Ty();
  if (auto* vt = llvm::dyn_cast<llvm::FixedVectorType>(t))
    it = llvm::FixedVectorType::get(it, vt->getNumElements());
  F32Math fm{b, m, t, it};
  switch (fn) {
    case MathFn::Exp: return fm.exp(x);
    case MathFn::Log: return fm.log(x);
    case MathFn::Tanh: return fm.tanh(x);
    case MathFn::Erf: return fm.erf(x);
    case MathFn::Erfc: return fm.erfc(x);
    default: break;
  }
  return nullptr;
}

Value* emitPow(llvm::IRBuilderBase& b, llvm::Module& m, Value* x, Value* y) {
  bool f32 = x->getType()->getScalarType()->isFloatTy();
  return libmPerLane(b, m, f32 ? "powf" : "pow", {x, y});
}

}  // namespace tessera::codegen::llvmgen
