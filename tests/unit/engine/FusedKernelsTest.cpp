// Every fused kernel kind against the reference interpreter, on odd shapes (7, 13, 33 columns:
// sizes that do not fill a vector), fused and unfused, with the kernel evaluator.
#include "tests/unit/engine/EngineTestUtil.h"

namespace tessera::codegen::testing {
namespace {

using ir::DType;

// `op` may carry attributes after a space ("gelu approximate=tanh"); they follow the operand.
std::string unaryModule(const std::string& op) {
  size_t sp = op.find(' ');
  std::string name = op.substr(0, sp), attrs = sp == std::string::npos ? "" : op.substr(sp);
  return "module @m {\n sym B\n func @main(%x: f32[B,13]) -> (f32[B,13]) {\n"
         "  %0 = " + name + " %x" + attrs + " : f32[B,13]\n  return %0\n }\n}\n";
}

TEST(FusedKernels, EveryUnaryOp) {
  for (const char* op : {"neg", "abs", "exp", "tanh", "sigmoid", "relu", "gelu",
                         "gelu approximate=tanh", "silu", "erf", "sin", "cos"}) {
    SCOPED_TRACE(op);
    expectMatchesInterpreter(unaryModule(op), {{"x", randomTensor(DType::F32, {3, 13}, 1)}});
  }
  for (const char* op : {"log", "sqrt", "rsqrt"}) {
    SCOPED_TRACE(op);
    expectMatchesInterpreter(unaryModule(op),
                             {{"x", randomTensor(DType::F32, {5, 13}, 2, 0.1, 3)}});
  }
}

TEST(FusedKernels, BinaryOpsWithBroadcasting) {
  for (const char* op : {"add", "sub", "mul", "div", "max", "min", "pow"}) {
    SCOPED_TRACE(op);
    std::string text =
        "module @m {\n sym B\n func @main(%x: f32[B,3,7], %r: f32[B,3,1], %c: f32[7]) -> "
        "(f32[B,3,7]) {\n  %0 = " + std::string(op) + " %x, %c : f32[B,3,7]\n"
        "  %1 = " + op + " %0, %r : f32[B,3,7]\n  return %1\n }\n}\n";
    bool positive = std::string(op) == "pow";
    expectMatchesInterpreter(text, {{"x", randomTensor(DType::F32, {2, 3, 7}, 3, positive ? 0.5 : -2, 2)},
                                    {"r", randomTensor(DType::F32, {2, 3, 1}, 4, 0.5, 2)},
                                    {"c", randomTensor(DType::F32, {7}, 5, 0.5, 2)}});
  }
}

TEST(FusedKernels, CompareSelectCastAndIota) {
  std::string text = R"(module @m {
 sym S
 func @main(%x: f32[S,S], %n: i64[S]) -> (f32[S,S], i32[S,S], f32[S]) {
  %i = iota dim=0 : i64[S,S]
  %j = iota dim=1 : i64[S,S]
  %causal = compare %i, %j dir=ge : bool[S,S]
  %big = full value=-1e9 : f32[]
  %0 = select %causal, %x, %big : f32[S,S]
  %1 = cast %x : i32[S,S]
  %k = cast %n : f32[S]
  return %0, %1, %k
 }
})";
  // cast's dtype attribute is spelled in the result type only in some forms; use the attribute.
  std::string fixed = text;
  size_t p = fixed.find("%1 = cast %x : i32");
  fixed.replace(p, std::string("%1 = cast %x : i32").size(), "%1 = cast %x dtype=i32 : i32");
  p = fixed.find("%k = cast %n : f32");
  fixed.replace(p, std::string("%k = cast %n : f32").size(), "%k = cast %n dtype=f32 : f32");
  expectMatchesInterpreter(fixed, {{"x", randomTensor(DType::F32, {9, 9}, 6, -5, 5)},
                                   {"n", randomTensor(DType::I64, {9}, 7, -50, 50)}});
}

TEST(FusedKernels, LastAxisReductions) {
  std::string text = R"(module @m {
 sym B
 func @main(%x: f32[B,5,33]) -> (f32[B,5], f32[B,5,1], f32[B,5,1], f32[B,5,33]) {
  %s = reduce_sum %x axes=[2] : f32[B,5]
  %m = reduce_max %x axes=[2] keepdims=true : f32[B,5,1]
  %a = reduce_mean %x axes=[-1] keepdims=true : f32[B,5,1]
  %c = sub %x, %a : f32[B,5,33]
  return %s, %m, %a, %c
 }
})";
  expectMatchesInterpreter(text, {{"x", randomTensor(DType::F32, {3, 5, 33}, 8)}});
  expectMatchesInterpreter(text, {{"x", randomTensor(DType::F32, {3, 5, 33}, 8)}}, 1e-5,
                           evalOptions(/*fuse=*/false));
}

TEST(FusedKernels, ReductionOfAConstantCountsTheRow) {
  // autodiff's mean: reduce_sum of a `full` (a per-row constant inside the kernel) over B.
  std::string text = R"(module @m {
 sym B
 func @main(%x: f64[B]) -> (f64[], f64[]) {
  %1 = full value=1 : f64[B]
  %2 = reduce_sum %1 axes=[0] : f64[]
  %3 = reduce_mean %x axes=[0] : f64[]
  return %2, %3
 }
})";
  expectMatchesInterpreter(text, {{"x", randomTensor(DType::F64, {9}, 19)}}, 1e-14);
}

TEST(FusedKernels, SymbolicRowLengthMean) {
  // The row length is the symbol S: the mean counts the row at run time.
  std::string text = R"(module @m {
 sym S
 func @main(%x: f32[4,S]) -> (f32[4,1]) {
  %a = reduce_mean %x axes=[1] keepdims=true : f32[4,1]
  return %a
 }
})";
  expectMatchesInterpreter(text, {{"x", randomTensor(DType::F32, {4, 11}, 9)}});
}

TEST(FusedKernels, SoftmaxLogSoftmaxAndNorms) {
  std::string text = R"(module @m {
 sym B
 func @main(%x: f32[B,2,17], %g: f32[17], %b: f32[17]) -> (f32[B,2,17], f32[B,2,17], f32[B,2,17], f32[B,2,17]) {
  %0 = softmax %x axis=-1 : f32[B,2,17]
  %1 = log_softmax %x axis=2 : f32[B,2,17]
  %2 = layer_norm %x, %g, %b : f32[B,2,17]
  %3 = rms_norm %x, %g eps=1e-5 : f32[B,2,17]
  return %0, %1, %2, %3
 }
})";
  std::map<std::string, ir::Tensor> in{{"x", randomTensor(DType::F32, {3, 2, 17}, 10, -4, 4)},
                                       {"g", randomTensor(DType::F32, {17}, 11)},
                                       {"b", randomTensor(DType::F32, {17}, 12)}};
  expectMatchesInterpreter(text, in, 1e-5);
  expectMatchesInterpreter(text, in, 1e-5, evalOptions(false));
}

TEST(FusedKernels, OneHotAndLoss) {
  std::string text = R"(module @m {
 sym N
 func @main(%logits: f32[N,11], %t: i64[N]) -> (f32[N,11], f32[], f32[N]) {
  %oh = one_hot %t depth=11 dtype=f32 : f32[N,11]
  %sm = softmax %logits axis=-1 : f32[N,11]
  %d = sub %sm, %oh : f32[N,11]
  %l = cross_entropy %logits, %t : f32[]
  %ln = cross_entropy %logits, %t reduction=none : f32[N]
  return %d, %l, %ln
 }
})";
  ir::Tensor t = randomTensor(DType::I64, {7}, 13, 0, 11);
  expectMatchesInterpreter(text, {{"logits", randomTensor(DType::F32, {7, 11}, 14)}, {"t", t}});
}

TEST(FusedKernels, LayerNormBackwardChainIsOneKernel) {
  // The decomposed layer-norm backward: reductions and per-row ops over one space fuse into a
  // single kernel with several passes.
  std::string text = R"(module @m {
 sym B
 func @main(%x: f32[B,19], %dy: f32[B,19]) -> (f32[B,19]) {
  %0 = reduce_mean %x axes=[1] keepdims=true : f32[B,1]
  %1 = sub %x, %0 : f32[B,19]
  %2 = mul %1, %1 : f32[B,19]
  %3 = reduce_mean %2 axes=[1] keepdims=true : f32[B,1]
  %e = full value=1e-05 : f32[]
  %4 = add %3, %e : f32[B,1]
  %5 = rsqrt %4 : f32[B,1]
  %6 = mul %1, %5 : f32[B,19]
  %7 = mul %dy, %6 : f32[B,19]
  %8 = reduce_mean %7 axes=[1] keepdims=true : f32[B,1]
  %9 = mul %6, %8 : f32[B,19]
  %10 = sub %dy, %9 : f32[B,19]
  %11 = mul %10, %5 : f32[B,19]
  return %11
 }
})";
  std::map<std::string, ir::Tensor> in{{"x", randomTensor(DType::F32, {6, 19}, 15)},
                                       {"dy", randomTensor(DType::F32, {6, 19}, 16)}};
  expectMatchesInterpreter(text, in, 1e-4);
  auto m = parse(text);
  auto e = Engine::compile(*m, "main", evalOptions());
  ASSERT_TRUE(e.isOk());
  EXPECT_EQ((*e)->executable().thunks.size(), 1u) << (*e)->executable().str();
  // Compiled: one kernel through LLVM.
  auto c = Engine::compile(*m, "main", compiledOptions());
  ASSERT_TRUE(c.isOk()) << c.status().message();
  ASSERT_TRUE((*c)->compileStats());
  EXPECT_EQ((*c)->compileStats()->compiled + (*c)->compileStats()->memoryHits, 1);
}

TEST(FusedKernels, ViewsAreStridedLoads) {
  std::string text = R"(module @m {
 sym B
 func @main(%x: f32[B,6,5], %y: f32[5]) -> (f32[B,5,6], f32[B,2,5], f32[B,6,5,3]) {
  %t = transpose %x perm=[0,2,1] : f32[B,5,6]
  %e = exp %t : f32[B,5,6]
  %s = slice %x start=[0,1,0] limit=[B,5,5] stride=[1,2,1] : f32[B,2,5]
  %a = add %s, %y : f32[B,2,5]
  %b = broadcast_in_dim %x dims=[0,1,2] : f32[B,6,5,3]
  %c = neg %b : f32[B,6,5,3]
  return %e, %a, %c
 }
})";
  expectMatchesInterpreter(text, {{"x", randomTensor(DType::F32, {2, 6, 5}, 17)},
                                  {"y", randomTensor(DType::F32, {5}, 18)}});
}

}  // namespace
}  // namespace tessera::codegen::testing
