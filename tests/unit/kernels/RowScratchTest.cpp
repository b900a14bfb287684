// The compiled kernels keep the last reduction pass's transcendental values in a row scratch for
// rows of at most 2048 elements (codegen/llvm/KernelLowering.h). A fused softmax must then give
// the same bits as the same arithmetic split into three single-pass kernels (max; exp and its sum;
// the quotient), on rows that use the scratch and rows too long for it, with odd lengths that
// leave a vector tail; and the same bits whether its rows run in one call or split in two.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "codegen/kernel/KernelCompiler.h"
#include "tests/support/SplitMix64.h"
#include "tests/unit/kernels/KernelTestUtil.h"

namespace tessera::codegen::testing {
namespace {

constexpr ScalarType F32 = ScalarType::F32;

// softmax(scale * x) with a causal mask: what the GPT step's attention kernel computes.
KernelDesc fusedSoftmax() {
  KB b(2, "fused_softmax");
  int x = b.in(F32), y = b.out(F32);
  int v = b.bin(BinaryFn::Mul, b.load(x), b.cnst(F32, 0.125));
  v = b.sel(b.cmp(CompareFn::Gt, b.coord(2), b.coord(1)), b.cnst(F32, -INFINITY), v);
  int e = b.un(UnaryFn::Exp, b.bin(BinaryFn::Sub, v, b.red(ReduceFn::Max, v)));
  b.store(y, b.bin(BinaryFn::Div, e, b.red(ReduceFn::Sum, e)));
  return b.done();
}

// The same three steps as separate kernels, each a single pass.
KernelDesc rowMax() {
  KB b(2, "row_max");
  int x = b.in(F32), m = b.out(F32, InnerAccess::Broadcast);
  int v = b.bin(BinaryFn::Mul, b.load(x), b.cnst(F32, 0.125));
  v = b.sel(b.cmp(CompareFn::Gt, b.coord(2), b.coord(1)), b.cnst(F32, -INFINITY), v);
  b.store(m, b.red(ReduceFn::Max, v));
  return b.done();
}
KernelDesc expAndSum() {
  KB b(2, "exp_and_sum");
  int x = b.in(F32), m = b.in(F32, InnerAccess::Broadcast);
  int e = b.out(F32), s = b.out(F32, InnerAccess::Broadcast);
  int v = b.bin(BinaryFn::Mul, b.load(x), b.cnst(F32, 0.125));
  v = b.sel(b.cmp(CompareFn::Gt, b.coord(2), b.coord(1)), b.cnst(F32, -INFINITY), v);
  int ev = b.un(UnaryFn::Exp, b.bin(BinaryFn::Sub, v, b.load(m)));
  b.store(e, ev);
  b.store(s, b.red(ReduceFn::Sum, ev));
  return b.done();
}
KernelDesc quotient() {
  KB b(2, "quotient");
  int e = b.in(F32), s = b.in(F32, InnerAccess::Broadcast), y = b.out(F32);
  b.store(y, b.bin(BinaryFn::Div, b.load(e), b.load(s)));
  return b.done();
}

TEST(RowScratch, FusedSoftmaxHasTheBitsOfItsSteps) {
  auto comp = KernelCompiler::create({});
  ASSERT_TRUE(comp.isOk()) << comp.status().message();
  auto fns = (*comp)->compile({fusedSoftmax(), rowMax(), expAndSum(), quotient()});
  ASSERT_TRUE(fns.isOk()) << fns.status().message();
  testing_support::SplitMix64 g{7};
  for (int64_t cols : {1, 7, 17, 256, 1000, 2047, 2048, 2049, 2051, 4100}) {
    const int64_t heads = 2, seq = 5, rows = heads * seq, n = rows * cols;
    std::vector<float> x(n), y(n), y2(n), m(rows), e(n), s(rows), q(n);
    for (float& v : x) v = static_cast<float>(g.uniform(-30, 30));
    std::vector<int64_t> ext{heads, seq};
    auto strides = [&](std::initializer_list<bool> perRow) {
      std::vector<int64_t> st;
      for (bool row : perRow) {
        if (row) st.insert(st.end(), {seq, 1, 0});
        else st.insert(st.end(), {seq * cols, cols, 1});
      }
      return st;
    };
    Call fused{{x.data(), y.data()}, ext, strides({false, false}), cols};
    KernelArgs a = fused.args();
    (*fns)[0](&a, 0, rows);
    Call split{{x.data(), y2.data()}, ext, strides({false, false}), cols};  // rows in two calls
    KernelArgs a2 = split.args();
    (*fns)[0](&a2, 0, 3);
    (*fns)[0](&a2, 3, rows);
    Call c1{{x.data(), m.data()}, ext, strides({false, true}), cols};
    Call c2{{x.data(), m.data(), e.data(), s.data()}, ext, strides({false, true, false, true}), cols};
    Call c3{{e.data(), s.data(), q.data()}, ext, strides({false, true, false}), cols};
    for (auto [k, c] : {std::pair{1, &c1}, std::pair{2, &c2}, std::pair{3, &c3}}) {
      KernelArgs ak = c->args();
      (*fns)[k](&ak, 0, rows);
    }
    ASSERT_EQ(std::memcmp(y.data(), q.data(), n * 4), 0) << "cols " << cols;
    ASSERT_EQ(std::memcmp(y.data(), y2.data(), n * 4), 0) << "cols " << cols;
    // And it is a softmax: rows sum to 1 within rounding; masked entries vanish (exp clamps -inf).
    for (int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (int64_t j = 0; j < cols; ++j) sum += y[r * cols + j];
      ASSERT_NEAR(sum, 1.0, 1e-4) << "cols " << cols << " row " << r;
      for (int64_t j = r % seq + 1; j < cols; ++j) ASSERT_LE(y[r * cols + j], 1e-44f);
    }
  }
}

}  // namespace
}  // namespace tessera::codegen::testing
