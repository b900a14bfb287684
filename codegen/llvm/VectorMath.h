// Vectorizable transcendental functions emitted as LLVM IR (Cephes-style range reduction plus
// polynomials), so that a kernel's exp/log/tanh/erf run at vector speed without a vector math
// library. Every function works on a scalar or a fixed vector of f32 and emits the same operation
// sequence per lane, so a vector body and its scalar tail compute bit-identical results. Only plain
// IEEE fadd/fmul/fdiv (no fast-math flags, no FMA), so the bits do not depend on the CPU.
//
// f32 accuracy: a few ulp over the whole range (tests/unit/kernels/VectorMathTest.cpp measures it),
// inf/nan/denormal inputs handled. f64 values go to libm one element at a time (exact agreement with
// the evaluator); training runs in f32.
#pragma once

namespace llvm {
class Value;
class Module;
class IRBuilderBase;
}  // namespace llvm

namespace tessera::codegen::llvmgen {

enum class MathFn { Exp, Log, Tanh, Erf, Erfc, Sin, Cos };

// fn(x) for x of type float, double, <W x float> or <W x double>.
llvm::Value* emitMath(llvm::IRBuilderBase& b, llvm::Module& m, MathFn fn, llvm::Value* x);

// pow(x, y) through libm, one element at a time.
llvm::Value* emitPow(llvm::IRBuilderBase& b, llvm::Module& m, llvm::Value* x, llvm::Value* y);

}  // namespace tessera::codegen::llvmgen
