// What differentiate refuses, and how it says so: a loss that is not a float scalar, an
// argument the loss does not depend on, paths cut by ZERO_GRAD ops (argmax, compare) or by a cast
// to an integer, and a NO_GRAD collective on the path. Each error names the op (mnemonic and
// location) and the argument.
#include <gtest/gtest.h>

#include "passes/autodiff/Autodiff.h"
#include "tests/unit/autodiff/AutodiffTestUtil.h"

namespace tessera {
namespace {

using testutil::parse;

// Differentiates @main's result 0 w.r.t. the named arguments; returns the error message ("" if
// it succeeded, which the callers treat as a failure).
std::string errorOf(ir::Module& m, const std::vector<std::string>& wrtNames) {
  ir::Function& f = *m.findFunction("main");
  std::vector<ir::Value*> wrt;
  for (const std::string& n : wrtNames)
    for (int i = 0; i < f.numArguments(); ++i)
      if (f.argument(i)->name() == n) wrt.push_back(f.argument(i));
  EXPECT_EQ(wrt.size(), wrtNames.size());
  auto r = passes::differentiate(f, 0, wrt);
  return r.isOk() ? "" : r.status().message();
}

TEST(AutodiffErrors, LossMustBeAScalar) {
  auto m = parse(R"(module @m {
    func @main(%x: f32[2]) -> (f32[2]) {
      %y = exp %x : f32[2]
      return %y
    }
  })");
  std::string e = errorOf(*m, {"x"});
  EXPECT_NE(e.find("must be a float scalar, got f32[2]"), std::string::npos) << e;
}

TEST(AutodiffErrors, LossMustBeFloat) {
  auto m = parse(R"(module @m {
    func @main(%x: f32[2]) -> (i64[]) {
      %i = argmax %x axis=0 : i64[]
      return %i
    }
  })");
  std::string e = errorOf(*m, {"x"});
  EXPECT_NE(e.find("must be a float scalar, got i64[]"), std::string::npos) << e;
}

TEST(AutodiffErrors, NoPathToTheLoss) {
  auto m = parse(R"(module @m {
    func @main(%x: f32[2], %unused: f32[2]) -> (f32[]) {
      %l = reduce_sum %x axes=[0] : f32[]
      return %l
    }
  })");
  std::string e = errorOf(*m, {"x", "unused"});
  EXPECT_NE(e.find("loss does not depend on %unused"), std::string::npos) << e;
}

TEST(AutodiffErrors, IntegerArgument) {
  auto m = parse(R"(module @m {
    func @main(%x: f32[2], %i: i64[]) -> (f32[]) {
      %l = reduce_sum %x axes=[0] : f32[]
      return %l
    }
  })");
  std::string e = errorOf(*m, {"i"});
  EXPECT_NE(e.find("%i of type i64[]"), std::string::npos) << e;
}

// The loss reaches x only through argmax (the index picks a row of another tensor).
TEST(AutodiffErrors, PathOnlyThroughArgmax) {
  auto m = parse(R"(module @m {
    func @main(%x: f32[4], %table: f32[4,2]) -> (f32[]) {
      %r = relu %x : f32[4]
      %i = argmax %r axis=0 : i64[]
      %row = gather %table, %i axis=0 : f32[2]
      %l = reduce_sum %row axes=[0] : f32[]
      return %l
    }
  })");
  std::string e = errorOf(*m, {"x"});
  EXPECT_NE(e.find("t.tir:4:7: error: the loss depends on %x only through non-differentiable "
                   "ops: 'argmax' blocks the path"),
            std::string::npos) << e;
  EXPECT_NE(e.find("%x"), std::string::npos) << e;
  // The table itself is differentiable; only x is blocked.
  EXPECT_EQ(errorOf(*parse(R"(module @m {
    func @main(%x: f32[4], %table: f32[4,2]) -> (f32[]) {
      %i = argmax %x axis=0 : i64[]
      %row = gather %table, %i axis=0 : f32[2]
      %l = reduce_sum %row axes=[0] : f32[]
      return %l
    }
  })"), {"table"}), "");
}

// x only decides which of a and b is taken.
TEST(AutodiffErrors, PathOnlyThroughCompare) {
  auto m = parse(R"(module @m {
    func @main(%x: f32[3], %a: f32[3], %b: f32[3]) -> (f32[]) {
      %c = compare %x, %a dir=lt : bool[3]
      %s = select %c, %a, %b : f32[3]
      %l = reduce_sum %s axes=[0] : f32[]
      return %l
    }
  })");
  std::string e = errorOf(*m, {"a", "x"});
  EXPECT_NE(e.find("t.tir:3:7: error:"), std::string::npos) << e;
  EXPECT_NE(e.find("'compare' blocks the path"), std::string::npos) << e;
  EXPECT_NE(e.find("%x"), std::string::npos) << e;
}

TEST(AutodiffErrors, PathOnlyThroughIntegerCast) {
  auto m = parse(R"(module @m {
    func @main(%x: f32[3]) -> (f32[]) {
      %i = cast %x dtype=i32 : i32[3]
      %f = cast %i dtype=f32 : f32[3]
      %l = reduce_sum %f axes=[0] : f32[]
      return %l
    }
  })");
  std::string e = errorOf(*m, {"x"});
  EXPECT_NE(e.find("t.tir:3:7: error:"), std::string::npos) << e;
  EXPECT_NE(e.find("'cast' blocks the path (it passes no gradient to its operand 0)"),
            std::string::npos) << e;
  EXPECT_NE(e.find("%x"), std::string::npos) << e;
}

// A collective on the path is an error even though x also reaches the loss directly: the
// gradient would silently miss the collective's contribution.
TEST(AutodiffErrors, CollectiveOnThePath) {
  auto m = parse(R"(module @m {
    mesh @mesh = <dp=2>
    func @main(%x: f32[3]) -> (f32[]) {
      %r = all_reduce %x axes=[dp] op=sum : f32[3]
      %s = add %r, %x : f32[3]
      %l = reduce_sum %s axes=[0] : f32[]
      return %l
    }
  })");
  std::string e = errorOf(*m, {"x"});
  EXPECT_NE(e.find("t.tir:4:7: error: cannot differentiate through 'all_reduce'"),
            std::string::npos) << e;
  EXPECT_NE(e.find("collectives are inserted by the partitioner"), std::string::npos) << e;
  EXPECT_NE(e.find("from %x"), std::string::npos) << e;
}

TEST(AutodiffErrors, FunctionMustVerify) {
  auto m = parse(R"(module @m {
    func @main(%x: f32[3]) -> (f32[]) {
      %e = exp %x : f32[3]
      %l = reduce_sum %e axes=[0] : f32[]
      return %l
    }
  })");
  ir::Function& f = *m->findFunction("main");
  f.argument(0)->setType({ir::DType::F32, {ir::Dim(4)}});  // now exp's result type is stale
  auto r = passes::differentiate(f, 0, {f.argument(0)});
  EXPECT_FALSE(r.isOk());
}

}  // namespace
}  // namespace tessera
