// The buffer plan's in-place rule against a multi-output fused kernel, in process (the bug behind
// "sealing at every collective breaks the async schedule", session 13): a compiled kernel stores
// its outputs one after another and loads an input when the first store needing it runs, so an
// output planned over an input that only a later output reads destroys that input. Here
// %o1 = g*g is stored first and %o2 = d - o1 reads %d only afterwards; %d dies in that kernel
// (the GEMM reading it comes earlier), so the old rule put %o1 over %d and %o2 came out 0.
// Expected values are the reference interpreter's. The legal cases keep their reuse: a single
// output over its input, and a later output reading the input only through the earlier output's
// value (AdamW's p' from m', v').
#include <gtest/gtest.h>

#include "codegen/Engine.h"
#include "codegen/fusion/Lowering.h"
#include "codegen/memory/BufferPlan.h"
#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "tests/support/SplitMix64.h"

namespace tessera::async_schedule_test {
namespace {

using ir::DType;
using ir::Tensor;

// %d gets a kernel of its own (the GEMM reading it seals its group); the second kernel stores
// %o1 then %o2, and %o2 needs %d, which dies there.
const char* kLateRead = R"(
module @k {
  func @main(%a: f32[4,8], %g: f32[4,8], %w: f32[8,8]) -> (f32[4,8], f32[4,8], f32[4,8]) {
    %h = full value=0.5 : f32[4,8]
    %d = mul %a, %h : f32[4,8]
    %s = matmul %d, %w : f32[4,8]
    %o1 = mul %g, %g : f32[4,8]
    %o2 = sub %d, %o1 : f32[4,8]
    return %o1, %o2, %s
  }
}
)";

// Legal reuse: %e is stored over %d (read by %e's own store), and %f reads %d only through %e.
const char* kEarlyRead = R"(
module @k {
  func @main(%a: f32[4,8], %g: f32[4,8], %w: f32[8,8]) -> (f32[4,8], f32[4,8], f32[4,8]) {
    %h = full value=0.5 : f32[4,8]
    %d = mul %a, %h : f32[4,8]
    %s = matmul %d, %w : f32[4,8]
    %e = sub %d, %g : f32[4,8]
    %f = mul %e, %g : f32[4,8]
    return %e, %f, %s
  }
}
)";

std::vector<Tensor> inputs() {
  testing_support::SplitMix64 rng{5};
  auto t = [&](std::vector<int64_t> shape) {
    std::vector<double> v(static_cast<size_t>(ir::numElementsOf(shape)));
    for (double& x : v) x = static_cast<double>(static_cast<float>(rng.uniform(-2, 2)));
    return Tensor(DType::F32, shape, v);
  };
  return {t({4, 8}), t({4, 8}), t({8, 8})};
}

// The buffer of value `name` in the lowered executable (by the buffer's name).
int bufferNamed(const codegen::Executable& exe, const std::string& name) {
  for (size_t b = 0; b < exe.buffers.size(); ++b)
    if (exe.buffers[b].name == name) return static_cast<int>(b);
  return -1;
}

// Runs `text` on the compiled engine and on the interpreter; returns the plan's offsets of the
// named buffers through *offsets.
void runBoth(const char* text, const std::vector<std::string>& names, std::vector<int64_t>* offsets) {
  auto m = ir::parseModule(text, "k.tir");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  const ir::Function& f = *(*m)->findFunction("main");
  std::vector<Tensor> in = inputs();
  auto want = ir::interpret(f, in);
  ASSERT_TRUE(want.isOk()) << want.status().message();

  codegen::EngineOptions o;
  o.threads = 1;
  o.diskCache = false;
  auto engine = codegen::Engine::compile(**m, "main", o);
  ASSERT_TRUE(engine.isOk()) << engine.status().message();
  auto got = (*engine)->run({{"a", in[0]}, {"g", in[1]}, {"w", in[2]}});
  ASSERT_TRUE(got.isOk()) << got.status().message();
  ASSERT_EQ(got->size(), want->outputs.size());
  for (size_t k = 0; k < got->size(); ++k)
    for (int64_t i = 0; i < want->outputs[k].numElements(); ++i)
      ASSERT_NEAR((*got)[k][i], want->outputs[k][i], 1e-5 * (1 + std::abs(want->outputs[k][i])))
          << "output " << k << " element " << i << "\n" << (*engine)->executable().str();

  auto plan = codegen::planBuffers((*engine)->executable(), {}, {});
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  for (const std::string& n : names) {
    int b = bufferNamed((*engine)->executable(), n);
    ASSERT_GE(b, 0) << n << "\n" << (*engine)->executable().str();
    offsets->push_back(plan->offset[b]);
  }
}

TEST(InPlaceStoreOrder, AnInputReadByALaterOutputIsNotOverwritten) {
  std::vector<int64_t> off;
  runBoth(kLateRead, {"d", "o1", "o2"}, &off);
  ASSERT_EQ(off.size(), 3u);
  EXPECT_NE(off[1], off[0]) << "o1 must not be planned over d: o2 still reads d";
}

TEST(InPlaceStoreOrder, ReuseStaysWhenTheInputIsReadFirst) {
  std::vector<int64_t> off;
  runBoth(kEarlyRead, {"d", "e", "f"}, &off);
  ASSERT_EQ(off.size(), 3u);
  EXPECT_EQ(off[1], off[0]) << "e is stored over d: d is read for e's own store";
}

}  // namespace
}  // namespace tessera::async_schedule_test
