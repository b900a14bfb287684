// The reverse sweep (passes/autodiff/Autodiff.h) on small hand-written modules: the gradient
// table's coverage, accumulation over several uses, result naming, pruning of unneeded backward
// work, tie conventions of max / min / reduce_max, trainableArguments and the `autodiff` pass.
// Expected gradients are worked out by hand in the comments.
#include <gtest/gtest.h>

#include <cmath>

#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "passes/PassRegistry.h"
#include "passes/autodiff/Autodiff.h"
#include "tests/unit/autodiff/AutodiffTestUtil.h"

namespace tessera {
namespace {

using testutil::parse;
using testutil::runGrads;

TEST(GradTable, EveryOpKindIsListedExactlyOnce) {
  std::vector<int> count(ir::allOps().size(), 0);
#define GRAD(k, fn) ++count[static_cast<size_t>(ir::OpKind::k)];
#define ZERO_GRAD(k) ++count[static_cast<size_t>(ir::OpKind::k)];
#define NO_GRAD(k, why) ++count[static_cast<size_t>(ir::OpKind::k)];
#include "passes/autodiff/GradRules.def"
  for (const ir::OpInfo& info : ir::allOps())
    EXPECT_EQ(count[static_cast<size_t>(info.kind)], 1) << info.mnemonic;
}

// loss = sum(x*x + x): x has three uses, d/dx = 2x + 1.
TEST(Autodiff, AccumulatesOverSeveralUses) {
  auto m = parse(R"(module @m {
    func @main(%x: f64[3]) -> (f64[]) {
      %sq = mul %x, %x : f64[3]
      %s = add %sq, %x : f64[3]
      %l = reduce_sum %s axes=[0] : f64[]
      return %l
    }
  })");
  auto g = runGrads(*m, {"x"}, {{"x", ir::Tensor(ir::DType::F64, {3}, {0.5, -2, 3})}});
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].data(), (std::vector<double>{2, -3, 7}));
}

// A value used on two separate paths that meet only at the loss:
// loss = sum(exp(x)) + sum(x * x) -> exp(x) + 2x.
TEST(Autodiff, AccumulatesAcrossBranches) {
  auto m = parse(R"(module @m {
    func @main(%x: f64[2]) -> (f64[]) {
      %e = exp %x : f64[2]
      %a = reduce_sum %e axes=[0] : f64[]
      %sq = mul %x, %x : f64[2]
      %b = reduce_sum %sq axes=[0] : f64[]
      %l = add %a, %b : f64[]
      return %l
    }
  })");
  auto g = runGrads(*m, {"x"}, {{"x", ir::Tensor(ir::DType::F64, {2}, {0, 1})}});
  ASSERT_EQ(g.size(), 1u);
  EXPECT_DOUBLE_EQ(g[0][0], 1 + 0);
  EXPECT_DOUBLE_EQ(g[0][1], std::exp(1.0) + 2);
}

// d(sum(x + y)) gives x and y the same cotangent value; each result still gets its own name.
TEST(Autodiff, NamesEveryGradientResult) {
  auto m = parse(R"(module @m {
    func @main(%x: f32[2], %y: f32[2], %z: f32[2]) -> (f32[]) {
      %s = add %x, %y : f32[2]
      %l = reduce_sum %s axes=[0] : f32[]
      return %l
    }
  })");
  ir::Function& f = *m->findFunction("main");
  auto info = passes::differentiate(f, 0, {f.argument(0), f.argument(1)});
  ASSERT_TRUE(info.isOk()) << info.status().message();
  ASSERT_EQ(f.results().size(), 3u);
  EXPECT_EQ(f.results()[1]->name(), "grad_x");
  EXPECT_EQ(f.results()[2]->name(), "grad_y");
  EXPECT_NE(f.results()[1], f.results()[2]);
  EXPECT_TRUE(ir::verifyModule(*m).isOk());
  std::string text = ir::printModule(*m);
  EXPECT_NE(text.find("return %l, %grad_x, %grad_y"), std::string::npos) << text;
}

// Only what the requested gradients need survives: with w frozen (not in wrt), nothing computes
// d/dw, so the only backward mul is g * w for x.
TEST(Autodiff, KeepsOnlyNeededBackwardOps) {
  auto m = parse(R"(module @m {
    func @main(%x: f64[2], %w: f64[2]) -> (f64[]) {
      %p = mul %x, %w : f64[2]
      %l = reduce_sum %p axes=[0] : f64[]
      return %l
    }
  })");
  ir::Function& f = *m->findFunction("main");
  ASSERT_TRUE(passes::differentiate(f, 0, {f.argument(0)}).isOk());
  int muls = 0;
  for (const auto& op : f.ops()) {
    muls += op->kind() == ir::OpKind::Mul;
    for (int r = 0; r < op->numResults(); ++r)
      EXPECT_TRUE(op->result(r)->hasUses())
          << "dead backward op " << ir::printOp(*op);
  }
  EXPECT_EQ(muls, 2);  // the forward one and g * w
}

// max / min: on a tie the cotangent is split evenly; otherwise it goes to the winner.
TEST(Autodiff, MaxMinSplitTiesEvenly) {
  auto m = parse(R"(module @m {
    func @main(%a: f64[3], %b: f64[3]) -> (f64[]) {
      %mx = max %a, %b : f64[3]
      %mn = min %a, %b : f64[3]
      %two = full value=2 : f64[]
      %mn2 = mul %mn, %two : f64[3]
      %s = add %mx, %mn2 : f64[3]
      %l = reduce_sum %s axes=[0] : f64[]
      return %l
    }
  })");
  // a = [1, 2, 5], b = [3, 2, 4]: max picks b, tie, a; min picks a, tie, b (weight 2).
  auto g = runGrads(*m, {"a", "b"},
                    {{"a", ir::Tensor(ir::DType::F64, {3}, {1, 2, 5})},
                     {"b", ir::Tensor(ir::DType::F64, {3}, {3, 2, 4})}});
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].data(), (std::vector<double>{2, 1.5, 1}));
  EXPECT_EQ(g[1].data(), (std::vector<double>{1, 1.5, 2}));
}

// reduce_max splits among the maximal elements (torch.amax): row [1, 3, 3] -> [0, 1/2, 1/2].
TEST(Autodiff, ReduceMaxSplitsTiesEvenly) {
  auto m = parse(R"(module @m {
    func @main(%x: f64[2,3]) -> (f64[]) {
      %r = reduce_max %x axes=[1] : f64[2]
      %l = reduce_sum %r axes=[0] : f64[]
      return %l
    }
  })");
  auto g = runGrads(*m, {"x"}, {{"x", ir::Tensor(ir::DType::F64, {2, 3}, {1, 3, 3, 7, 7, 7})}});
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].data(), (std::vector<double>{0, 0.5, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3}));
}

// relu'(0) = 0 and abs'(0) = 0, as in PyTorch.
TEST(Autodiff, KinksAtZero) {
  auto m = parse(R"(module @m {
    func @main(%x: f64[3]) -> (f64[]) {
      %r = relu %x : f64[3]
      %a = abs %x : f64[3]
      %s = add %r, %a : f64[3]
      %l = reduce_sum %s axes=[0] : f64[]
      return %l
    }
  })");
  auto g = runGrads(*m, {"x"}, {{"x", ir::Tensor(ir::DType::F64, {3}, {-2, 0, 3})}});
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].data(), (std::vector<double>{-1, 0, 2}));
}

// A mask computed from x (compare is ZERO_GRAD) does not block x's other, differentiable path:
// loss = sum(x * [x > 0]) -> [x > 0].
TEST(Autodiff, ZeroGradSideBranchIsFine) {
  auto m = parse(R"(module @m {
    func @main(%x: f64[3]) -> (f64[]) {
      %z = full value=0 : f64[]
      %c = compare %x, %z dir=gt : bool[3]
      %mask = cast %c dtype=f64 : f64[3]
      %p = mul %x, %mask : f64[3]
      %l = reduce_sum %p axes=[0] : f64[]
      return %l
    }
  })");
  auto g = runGrads(*m, {"x"}, {{"x", ir::Tensor(ir::DType::F64, {3}, {-1, 2, 0.5})}});
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].data(), (std::vector<double>{0, 1, 1}));
}

// reduce_mean over a symbolic dim divides by its value at run time: d mean / dx = 1 / B.
TEST(Autodiff, MeanOverSymbolicDim) {
  auto m = parse(R"(module @m {
    sym B
    func @main(%x: f64[B,2]) -> (f64[]) {
      %r = reduce_mean %x axes=[0,1] : f64[]
      return %r
    }
  })");
  auto g = runGrads(*m, {"x"}, {{"x", ir::Tensor(ir::DType::F64, {5, 2})}});
  ASSERT_EQ(g.size(), 1u);
  for (double v : g[0].data()) EXPECT_DOUBLE_EQ(v, 0.1);
}

TEST(Autodiff, TrainableArgumentsFollowModuleParameters) {
  auto m = parse(R"(module @m {
    param @w : f32[2]
    param @b : f32[2]
    param @x : f32[2] frozen
    func @main(%x: f32[2], %b: f32[2], %other: f32[2], %w: f32[2]) -> (f32[]) {
      %s = add %x, %b : f32[2]
      %t = mul %s, %w : f32[2]
      %u = add %t, %other : f32[2]
      %l = reduce_sum %u axes=[0] : f32[]
      return %l
    }
  })");
  auto args = passes::trainableArguments(*m->findFunction("main"));
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0]->name(), "b");
  EXPECT_EQ(args[1]->name(), "w");
}

TEST(AutodiffPass, AppendsGradientsOfTrainableParameters) {
  auto m = parse(R"(module @m {
    param @w : f64[2]
    param @x : f64[2] frozen
    func @main(%x: f64[2], %w: f64[2]) -> (f64[], f64[2]) {
      %p = mul %x, %w : f64[2]
      %l = reduce_sum %p axes=[0] : f64[]
      return %l, %p
    }
  })");
  const passes::PassInfo* info = passes::findPass("autodiff");
  ASSERT_NE(info, nullptr);
  auto changed = info->create()->run(*m);
  ASSERT_TRUE(changed.isOk()) << changed.status().message();
  EXPECT_TRUE(*changed);
  ir::Function& f = *m->findFunction("main");
  ASSERT_EQ(f.results().size(), 3u);
  EXPECT_EQ(f.results()[2]->name(), "grad_w");
  // d/dw sum(x * w) = x.
  auto r = ir::interpret(f, {{"x", ir::Tensor(ir::DType::F64, {2}, {3, -4})},
                             {"w", ir::Tensor(ir::DType::F64, {2}, {1, 1})}});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->outputs[2].data(), (std::vector<double>{3, -4}));
}

TEST(AutodiffPass, NeedsATrainableParameter) {
  auto m = parse(R"(module @m {
    func @main(%x: f64[2]) -> (f64[]) {
      %l = reduce_sum %x axes=[0] : f64[]
      return %l
    }
  })");
  auto changed = passes::findPass("autodiff")->create()->run(*m);
  ASSERT_FALSE(changed.isOk());
  EXPECT_NE(changed.status().message().find("no trainable arguments"), std::string::npos)
      << changed.status().message();
}

}  // namespace
}  // namespace tessera
