// Resharding (SHARDING.md §4 table) through the partitioner on a hand-annotated module: each row
// of the table appears as the collective it predicts in the local program, and the results equal
// the single-device interpreter.
#include <gtest/gtest.h>

#include "tests/unit/spmd/SpmdTestUtil.h"

namespace tessera {
namespace {

using namespace spmd_test;
using ir::DType;
using ir::Tensor;

const char* kReshard = R"(
module @r {
  mesh @m = <dp=2, tp=2>
  func @main(%x: f32[4,6] {dp, -}, %a: f32[4,8] {-, tp}, %w: f32[8,6] {tp, -}) -> (f32[4,6], f32[4,6], f32[4,6], f32[4,8], f32[4,6]) {
    %t = neg %x : f32[4,6] {-, dp}
    %p = matmul %a, %w : f32[4,6] {-, -} partial{tp:sum}
    %s = neg %p : f32[4,6] {tp, -}
    %g = exp %x : f32[4,6] {-, -}
    %l = exp %a : f32[4,8] {dp, tp}
    %m = mul %p, %g : f32[4,6] {-, -} partial{tp:sum}
    %n = add %m, %p : f32[4,6] {-, -}
    return %t, %s, %g, %l, %n
  }
}
)";

std::vector<Tensor> inputs() {
  auto ramp = [](std::vector<int64_t> shape, double scale) {
    std::vector<double> v;
    for (int64_t i = 0; i < ir::numElementsOf(shape); ++i) v.push_back(scale * ((i * 7) % 11 - 5));
    return Tensor(DType::F32, shape, v);
  };
  return {ramp({4, 6}, 0.1), ramp({4, 8}, 0.2), ramp({8, 6}, 0.05)};
}

TEST(Reshard, EachRowOfTheTableIsItsCollective) {
  auto m = parse(kReshard);
  ASSERT_TRUE(m);
  const ir::Function& f = *m->findFunction("main");
  auto p = partitionOf(f);
  ASSERT_TRUE(p);
  const std::string& t = p->text;
  // split on d -> split on d': all_to_all.
  EXPECT_NE(t.find("all_to_all %x axes=[dp] split_dim=1 concat_dim=0 : f32[4,3]"), std::string::npos) << t;
  // partial sum -> split: reduce_scatter.
  EXPECT_NE(t.find("reduce_scatter %p axes=[tp] dim=0 op=sum : f32[2,6]"), std::string::npos) << t;
  // split -> replicated: all_gather.
  EXPECT_NE(t.find("all_gather %x axes=[dp] dim=0 : f32[4,6]"), std::string::npos) << t;
  // replicated -> split: the local rows through axis_index, no communication.
  EXPECT_NE(t.find("axis_index axes=[dp]"), std::string::npos) << t;
  // The partial sum passes through mul by a whole value and add of two partials unresolved:
  // %n is computed locally, and only the return resolves it, with one all_reduce.
  EXPECT_NE(t.find("%m = mul %p, "), std::string::npos) << t;
  EXPECT_NE(t.find("%n = add %m, %p"), std::string::npos) << t;
  EXPECT_NE(t.find("all_reduce %n axes=[tp] op=sum"), std::string::npos) << t;
  expectClose(distributed(*p, inputs()), reference(f, inputs()));
}

}  // namespace
}  // namespace tessera
