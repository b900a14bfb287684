// The Executable's protobuf form: a round trip runs to the same bits, and damaged bytes give an
// error, never a crash.
#include "codegen/exec/ExecutableProto.h"
#include "codegen/fusion/Lowering.h"
#include "tests/unit/engine/EngineTestUtil.h"

namespace tessera::codegen::testing {
namespace {

const char* kModel = R"(module @m {
 sym B
 func @main(%x: f32[B,6], %w: f32[6,5], %b: f32[5], %t: i64[B]) -> (f32[], f32[B,5]) {
  %h = matmul %x, %w : f32[B,5]
  %y = add %h, %b : f32[B,5]
  %g = gelu %y : f32[B,5]
  %l = cross_entropy %g, %t : f32[]
  %tr = transpose %g perm=[1,0] : f32[5,B]
  %r = reduce_sum %tr axes=[1] keepdims=true : f32[5,1]
  %rr = reshape %r : f32[5]
  %z = sub %g, %rr : f32[B,5]
  return %l, %z
 }
})";

TEST(ExecutableProto, RoundTripRunsToTheSameBits) {
  auto m = parse(kModel);
  ASSERT_TRUE(m);
  auto exe = lowerFunction(*m->findFunction("main"), {});
  ASSERT_TRUE(exe.isOk()) << exe.status().message();
  auto bytes = serializeExecutable(*exe);
  ASSERT_TRUE(bytes.isOk()) << bytes.status().message();
  auto back = deserializeExecutable(*bytes, "x.tex");
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ(back->str(), exe->str());
  ASSERT_EQ(back->kernels.size(), exe->kernels.size());
  for (size_t k = 0; k < exe->kernels.size(); ++k)
    EXPECT_EQ(back->kernels[k].canonicalText(), exe->kernels[k].canonicalText());
  // Serializing again gives the same bytes.
  auto again = serializeExecutable(*back);
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(*again, *bytes);

  std::map<std::string, ir::Tensor> in{{"x", randomTensor(ir::DType::F32, {3, 6}, 1)},
                                       {"w", randomTensor(ir::DType::F32, {6, 5}, 2)},
                                       {"b", randomTensor(ir::DType::F32, {5}, 3)},
                                       {"t", randomTensor(ir::DType::I64, {3}, 4, 0, 5)}};
  auto e1 = Engine::compile(*m, "main", evalOptions());
  auto e2 = Engine::load(std::move(*back), evalOptions());
  ASSERT_TRUE(e1.isOk() && e2.isOk());
  auto r1 = (*e1)->run(in);
  auto r2 = (*e2)->run(in);
  ASSERT_TRUE(r1.isOk() && r2.isOk()) << r2.status().message();
  EXPECT_EQ(*r1, *r2);
  auto ref = ir::interpret(*m->findFunction("main"), in);
  ASSERT_TRUE(ref.isOk());
  EXPECT_TRUE(close((*r1)[0], ref->outputs[0], 1e-5));
  EXPECT_TRUE(close((*r1)[1], ref->outputs[1], 1e-5));
}

TEST(ExecutableProto, DamagedBytesAreErrors) {
  auto m = parse(kModel);
  auto exe = lowerFunction(*m->findFunction("main"), {});
  auto bytes = serializeExecutable(*exe);
  ASSERT_TRUE(bytes.isOk());
  // Truncations and byte flips: either a clean error or an executable that passes every check.
  testing_support::SplitMix64 r{5};
  for (int trial = 0; trial < 300; ++trial) {
    std::string b = *bytes;
    if (trial % 2) b.resize(r.below(b.size()));
    else
      for (int k = 0; k < 3; ++k) b[r.below(b.size())] ^= static_cast<char>(1 + r.below(255));
    auto back = deserializeExecutable(b, "bad.tex");
    if (!back.isOk()) {
      EXPECT_NE(back.status().message().find("bad.tex"), std::string::npos) << back.status().message();
      continue;
    }
    // Whatever parsed must still run safely: bounds are checked before any thunk runs.
    auto e = Engine::load(std::move(*back), evalOptions());
    if (!e.isOk()) continue;
    (void)(*e)->run({{"x", randomTensor(ir::DType::F32, {3, 6}, 1)},
                     {"t", randomTensor(ir::DType::I64, {3}, 4, 0, 5)}});
  }
  auto garbage = deserializeExecutable("not a protobuf at all", "g.tex");
  EXPECT_FALSE(garbage.isOk());
}

}  // namespace
}  // namespace tessera::codegen::testing
