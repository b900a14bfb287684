// Destination passing (codegen/fusion/Placement.h): pad-sums become concatenations written in
// place by their producers, and GEMM outputs whose heads a reshape merges are written in the
// merged layout. Checked against the interpreter, and on the thunk list: the copies, fills and
// adds it removes are gone.
#include "codegen/fusion/Placement.h"
#include "tests/unit/engine/EngineTestUtil.h"

namespace tessera::codegen::testing {
namespace {

using ir::DType;

int countThunks(const Executable& exe, const std::string& labelPart) {
  int n = 0;
  for (const Thunk& t : exe.thunks) n += t.label.find(labelPart) != std::string::npos;
  return n;
}

// The backward of an attention block's QKV split: three per-head GEMM outputs, transposed back
// to [B,S,heads,hd], merged to [B,S,8] and padded into [B,S,24] slots that are summed.
const char* kPadSum = R"(module @m {
 sym B
 sym S
 func @main(%p: f32[B,2,S,S], %a: f32[B,2,S,4], %b: f32[B,2,S,4], %c: f32[B,2,4,S], %w: f32[24,5]) -> (f32[B,S,24], f32[B,S,5]) {
  %q = dot %p, %a lhs_batch=[0,1] rhs_batch=[0,1] lhs_contract=[3] rhs_contract=[2] : f32[B,2,S,4]
  %k = dot %p, %b lhs_batch=[0,1] rhs_batch=[0,1] lhs_contract=[2] rhs_contract=[2] : f32[B,2,S,4]
  %vt = dot %c, %p lhs_batch=[0,1] rhs_batch=[0,1] lhs_contract=[3] rhs_contract=[3] : f32[B,2,4,S]
  %v = transpose %vt perm=[0,1,3,2] : f32[B,2,S,4]
  %q1 = transpose %q perm=[0,2,1,3] : f32[B,S,2,4]
  %q2 = reshape %q1 : f32[B,S,8]
  %k1 = transpose %k perm=[0,2,1,3] : f32[B,S,2,4]
  %k2 = reshape %k1 : f32[B,S,8]
  %v1 = transpose %v perm=[0,2,1,3] : f32[B,S,2,4]
  %v2 = reshape %v1 : f32[B,S,8]
  %pv = pad %v2 low=[0,0,16] high=[0,0,0] : f32[B,S,24]
  %pk = pad %k2 low=[0,0,8] high=[0,0,8] : f32[B,S,24]
  %s1 = add %pv, %pk : f32[B,S,24]
  %pq = pad %q2 low=[0,0,0] high=[0,0,16] : f32[B,S,24]
  %s = add %s1, %pq : f32[B,S,24]
  %y = matmul %s, %w : f32[B,S,5]
  return %s, %y
 }
})";

std::map<std::string, ir::Tensor> padSumInputs() {
  return {{"p", randomTensor(DType::F32, {3, 2, 5, 5}, 31)},
          {"a", randomTensor(DType::F32, {3, 2, 5, 4}, 32)},
          {"b", randomTensor(DType::F32, {3, 2, 5, 4}, 33)},
          {"c", randomTensor(DType::F32, {3, 2, 4, 5}, 34)},
          {"w", randomTensor(DType::F32, {24, 5}, 35)}};
}

TEST(Placement, PadSumIsFoundWithItsSlots) {
  auto m = parse(kPadSum);
  const ir::Function& f = *m->findFunction("main");
  Placement p = planPlacement(f);
  // 3 pads + 2 adds assembled; the slots reach back to the three GEMM results.
  EXPECT_EQ(p.assembled.size(), 5u);
  EXPECT_EQ(p.sumRoots.size(), 1u);
  int gemmSlots = 0;
  for (const auto& [v, slot] : p.slots)
    if (v->definingOp() && isGemmOp(*v->definingOp())) {
      ++gemmSlots;
      EXPECT_EQ(slot.root->name(), "s");
    }
  EXPECT_EQ(gemmSlots, 3);
}

TEST(Placement, PadSumMatchesTheInterpreterWithNoCopies) {
  expectMatchesInterpreter(kPadSum, padSumInputs());
  expectMatchesInterpreter(kPadSum, padSumInputs(), 1e-5, compiledOptions());
  auto m = parse(kPadSum);
  auto e = Engine::compile(*m, "main", evalOptions());
  ASSERT_TRUE(e.isOk()) << e.status().message();
  const Executable& exe = (*e)->executable();
  // Four GEMMs (the C^T of %vt included) and nothing else: no pad fill, copy or add.
  EXPECT_EQ(exe.thunks.size(), 4u) << exe.str();
  EXPECT_EQ(countThunks(exe, "copy"), 0) << exe.str();
  EXPECT_EQ(countThunks(exe, "pad"), 0) << exe.str();
}

TEST(Placement, PiecesThatCannotBeWrittenInPlaceAreCopiedOnce) {
  // One piece is an argument, one a fused kernel's output, one read twice (so not moved).
  std::string text = R"(module @m {
 sym N
 func @main(%x: f32[N,3], %y: f32[N,2], %z: f32[N,4]) -> (f32[N,9], f32[N,4]) {
  %y2 = mul %y, %y : f32[N,2]
  %z2 = exp %z : f32[N,4]
  %px = pad %x low=[0,0] high=[0,6] : f32[N,9]
  %py = pad %y2 low=[0,3] high=[0,4] : f32[N,9]
  %pz = pad %z2 low=[0,5] high=[0,0] : f32[N,9]
  %s1 = add %px, %py : f32[N,9]
  %s = add %s1, %pz : f32[N,9]
  %t = add %z2, %z2 : f32[N,4]
  return %s, %t
 }
})";
  std::map<std::string, ir::Tensor> in = {{"x", randomTensor(DType::F32, {7, 3}, 41)},
                                          {"y", randomTensor(DType::F32, {7, 2}, 42)},
                                          {"z", randomTensor(DType::F32, {7, 4}, 43)}};
  expectMatchesInterpreter(text, in);
  expectMatchesInterpreter(text, in, 1e-5, evalOptions(false));
  auto m = parse(text);
  auto e = Engine::compile(*m, "main", evalOptions());
  ASSERT_TRUE(e.isOk());
  // %x and %z2 are copied into their slots; %y2's kernel stores straight into its slot.
  EXPECT_EQ(countThunks((*e)->executable(), "into place"), 2) << (*e)->executable().str();
  EXPECT_EQ(countThunks((*e)->executable(), "pad"), 0) << (*e)->executable().str();
}

TEST(Placement, OverlappingOrGappedPadsStayPads) {
  std::string text = R"(module @m {
 func @main(%x: f32[4,3], %y: f32[4,3]) -> (f32[4,7], f32[4,5]) {
  %px = pad %x low=[0,0] high=[0,4] : f32[4,7]
  %py = pad %y low=[0,4] high=[0,0] : f32[4,7]
  %gap = add %px, %py : f32[4,7]
  %qx = pad %x low=[0,0] high=[0,2] : f32[4,5]
  %qy = pad %y low=[0,2] high=[0,0] : f32[4,5]
  %overlap = add %qx, %qy : f32[4,5]
  return %gap, %overlap
 }
})";
  auto m = parse(text);
  EXPECT_TRUE(planPlacement(*m->findFunction("main")).assembled.empty());
  expectMatchesInterpreter(text, {{"x", randomTensor(DType::F32, {4, 3}, 44)},
                                  {"y", randomTensor(DType::F32, {4, 3}, 45)}});
}

TEST(Placement, MergedHeadsAreWrittenInTheMergedLayout) {
  // Attention output: per-head GEMM, heads transposed next to each other and merged, projected.
  std::string text = R"(module @m {
 sym B
 sym S
 func @main(%p: f32[B,2,S,S], %v: f32[B,2,S,4], %w: f32[8,6]) -> (f32[B,S,6]) {
  %o = dot %p, %v lhs_batch=[0,1] rhs_batch=[0,1] lhs_contract=[3] rhs_contract=[2] : f32[B,2,S,4]
  %o1 = transpose %o perm=[0,2,1,3] : f32[B,S,2,4]
  %o2 = reshape %o1 : f32[B,S,8]
  %y = matmul %o2, %w : f32[B,S,6]
  return %y
 }
})";
  auto m = parse(text);
  Placement p = planPlacement(*m->findFunction("main"));
  EXPECT_EQ(p.slots.size(), 3u);  // %o2 (root), %o1, %o
  expectMatchesInterpreter(text, {{"p", randomTensor(DType::F32, {2, 2, 6, 6}, 46)},
                                  {"v", randomTensor(DType::F32, {2, 2, 6, 4}, 47)},
                                  {"w", randomTensor(DType::F32, {8, 6}, 48)}});
  auto e = Engine::compile(*m, "main", evalOptions());
  ASSERT_TRUE(e.isOk());
  EXPECT_EQ((*e)->executable().thunks.size(), 2u) << (*e)->executable().str();
}

}  // namespace
}  // namespace tessera::codegen::testing
