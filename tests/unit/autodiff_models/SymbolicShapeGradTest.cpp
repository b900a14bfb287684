// Gradient rules on symbolic shapes, checked against finite differences.
//
// The fixtures in tests/fixtures/grad/ use concrete shapes (their inputs are drawn from the
// declared types). Several rules take a different path when a dim is symbolic: slice and concat
// borders that are not constants (zero blocks concatenated instead of pad), strided slices of a
// symbolic dim, top_k and cross_entropy over a symbolic last dim (an iota/compare one-hot instead
// of one_hot), broadcasts and shared-rhs matmuls over a symbolic batch. Each case here is a module
// whose @main returns a scalar loss (weights `%w` applied to the op's result in the text), is
// differentiated with respect to every float argument, and is run for concrete symbol values.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "passes/autodiff/Autodiff.h"

namespace tessera::passes {
namespace {

using ir::DType;
using ir::Tensor;

struct Case {
  const char* name;
  const char* text;
  std::map<std::string, int64_t> symbols;
  std::map<std::string, Tensor> intInputs;  // index / target arguments
};

double lcg(uint64_t& s) {
  s = s * 6364136223846793005ULL + 1442695040888963407ULL;
  return -1 + 2 * static_cast<double>(s >> 11) / 9007199254740992.0;
}

void checkCase(const Case& c) {
  SCOPED_TRACE(c.name);
  auto parsed = ir::parseModule(c.text, c.name);
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message();
  ir::Module& m = **parsed;
  ir::Function* f = m.findFunction("main");
  ASSERT_NE(f, nullptr);
  std::map<std::string, Tensor> inputs = c.intInputs;
  std::vector<ir::Value*> wrt;
  uint64_t seed = 99;
  for (int i = 0; i < f->numArguments(); ++i) {
    ir::Value* a = f->argument(i);
    if (a->type().dtype != DType::F64) continue;
    wrt.push_back(a);
    std::vector<int64_t> shape;
    for (const ir::Dim& d : a->type().shape) shape.push_back(d.evaluate(c.symbols).value());
    std::vector<double> v(ir::numElementsOf(shape));
    for (double& x : v) x = lcg(seed);
    inputs.emplace(a->name(), Tensor(DType::F64, shape, v));
  }
  // The loss of the undifferentiated function, for the finite differences.
  auto lossOf = [&](const std::map<std::string, Tensor>& in) {
    auto r = ir::interpret(*f, in);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    return r.isOk() ? r->outputs[0][0] : NAN;
  };
  std::map<std::string, std::vector<double>> fds;
  const double h = 1e-6;
  for (ir::Value* a : wrt) {
    std::vector<double>& fd = fds[a->name()];
    const Tensor& t = inputs.at(a->name());
    for (int64_t j = 0; j < t.numElements(); ++j) {
      auto moved = inputs;
      Tensor up = t, down = t;
      up.set(j, t[j] + h);
      down.set(j, t[j] - h);
      moved.insert_or_assign(a->name(), up);
      double lu = lossOf(moved);
      moved.insert_or_assign(a->name(), down);
      fd.push_back((lu - lossOf(moved)) / (2 * h));
    }
  }
  size_t numResults = f->results().size();
  auto info = differentiate(*f, 0, wrt);
  ASSERT_TRUE(info.isOk()) << info.status().message();
  Status verified = ir::verifyModule(m);
  ASSERT_TRUE(verified.isOk()) << verified.message();
  auto r = ir::interpret(*f, inputs);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  double largest = 0;
  for (size_t i = 0; i < wrt.size(); ++i) {
    const std::string& name = wrt[i]->name();
    EXPECT_EQ(f->results()[numResults + i]->type(), wrt[i]->type()) << name;
    const Tensor& g = r->outputs[numResults + i];
    const std::vector<double>& fd = fds.at(name);
    ASSERT_EQ(g.numElements(), static_cast<int64_t>(fd.size())) << name;
    for (size_t j = 0; j < fd.size(); ++j) {
      EXPECT_NEAR(g[j], fd[j], 1e-7 + 1e-6 * std::fabs(fd[j])) << name << " entry " << j;
      largest = std::max(largest, std::fabs(fd[j]));
    }
  }
  EXPECT_GT(largest, 0.1);  // the comparison is not between zeros
}

Tensor i64(std::vector<int64_t> shape, std::vector<double> v) {
  return Tensor(DType::I64, std::move(shape), std::move(v));
}

TEST(SymbolicShapeGrad, SliceWithSymbolicBorders) {
  checkCase({"slice_head", R"(module {
    sym N
    func @main(%x: f64[N,3], %w: f64[2,3]) -> (f64[]) {
      %y = slice %x start=[0,0] limit=[2,3] : f64[2,3]
      %p = mul %y, %w : f64[2,3]
      %l = reduce_sum %p axes=[0,1] : f64[]
      return %l
    }
  })", {{"N", 5}}, {}});
  checkCase({"slice_tail", R"(module {
    sym N
    func @main(%x: f64[N,3], %w: f64[2,2]) -> (f64[]) {
      %y = slice %x start=[N-2,1] limit=[N,3] : f64[2,2]
      %p = mul %y, %w : f64[2,2]
      %l = reduce_sum %p axes=[0,1] : f64[]
      return %l
    }
  })", {{"N", 6}}, {}});
  checkCase({"slice_symbolic_extent", R"(module {
    sym N
    func @main(%x: f64[N,2], %w: f64[N-2,2]) -> (f64[]) {
      %y = slice %x start=[1,0] limit=[N-1,2] : f64[N-2,2]
      %p = mul %y, %w : f64[N-2,2]
      %l = reduce_sum %p axes=[0,1] : f64[]
      return %l
    }
  })", {{"N", 5}}, {}});
}

TEST(SymbolicShapeGrad, StridedSliceOfSymbolicDim) {
  checkCase({"slice_strided", R"(module {
    sym N
    func @main(%x: f64[2,N], %w: f64[2,3]) -> (f64[]) {
      %y = slice %x start=[0,1] limit=[2,6] stride=[1,2] : f64[2,3]
      %p = mul %y, %w : f64[2,3]
      %l = reduce_sum %p axes=[0,1] : f64[]
      return %l
    }
  })", {{"N", 8}}, {}});
}

TEST(SymbolicShapeGrad, ConcatOfSymbolicPieces) {
  checkCase({"concat", R"(module {
    sym N
    func @main(%a: f64[N,2], %b: f64[3,2], %w: f64[N+3,2]) -> (f64[]) {
      %y = concat %a, %b axis=0 : f64[N+3,2]
      %p = mul %y, %w : f64[N+3,2]
      %l = reduce_sum %p axes=[0,1] : f64[]
      return %l
    }
  })", {{"N", 2}}, {}});
}

TEST(SymbolicShapeGrad, TopKOverSymbolicRow) {
  checkCase({"top_k", R"(module {
    sym N
    func @main(%x: f64[2,N], %w: f64[2,2]) -> (f64[]) {
      %v, %i = top_k %x k=2 : f64[2,2], i64[2,2]
      %p = mul %v, %w : f64[2,2]
      %l = reduce_sum %p axes=[0,1] : f64[]
      return %l
    }
  })", {{"N", 5}}, {}});
}

TEST(SymbolicShapeGrad, CrossEntropyOverSymbolicVocab) {
  checkCase({"cross_entropy_mean", R"(module {
    sym V
    func @main(%logits: f64[3,V], %t: i64[3]) -> (f64[]) {
      %l = cross_entropy %logits, %t : f64[]
      return %l
    }
  })", {{"V", 4}}, {{"t", i64({3}, {3, -100, 0})}}});
  checkCase({"cross_entropy_none", R"(module {
    sym V
    sym B
    func @main(%logits: f64[B,V], %t: i64[B], %w: f64[B]) -> (f64[]) {
      %y = cross_entropy %logits, %t reduction=none ignore_index=1 : f64[B]
      %p = mul %y, %w : f64[B]
      %l = reduce_sum %p axes=[0] : f64[]
      return %l
    }
  })", {{"V", 3}, {"B", 4}}, {{"t", i64({4}, {2, 1, 0, 2})}}});
}

TEST(SymbolicShapeGrad, NormsBroadcastsAndMatmulOverSymbolicDims) {
  checkCase({"layer_norm", R"(module {
    sym N
    func @main(%x: f64[2,N], %s: f64[N], %b: f64[N], %w: f64[2,N]) -> (f64[]) {
      %y = layer_norm %x, %s, %b : f64[2,N]
      %p = mul %y, %w : f64[2,N]
      %l = reduce_sum %p axes=[0,1] : f64[]
      return %l
    }
  })", {{"N", 3}}, {}});
  checkCase({"broadcast_matmul", R"(module {
    sym N
    func @main(%x: f64[1,3], %a: f64[N,2,3], %m: f64[3,3], %w: f64[N,2,3]) -> (f64[]) {
      %xb = broadcast_in_dim %x dims=[1,2] : f64[N,2,3]
      %s = add %xb, %a : f64[N,2,3]
      %y = matmul %s, %m : f64[N,2,3]
      %p = mul %y, %w : f64[N,2,3]
      %l = reduce_sum %p axes=[0,1,2] : f64[]
      return %l
    }
  })", {{"N", 3}}, {}});
}

}  // namespace
}  // namespace tessera::passes
