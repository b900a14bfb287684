// The reference evaluator on hand-built descriptions, against independent formulas computed here
// (in double where the kernel computes f32 transcendentals, exactly where it does not).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "codegen/kernel/KernelEvaluator.h"
#include "tests/support/SplitMix64.h"
#include "tests/unit/kernels/KernelTestUtil.h"

namespace tessera::codegen {
namespace {

using testing::Call;
using testing::KB;
using tessera::testing_support::SplitMix64;
constexpr ScalarType F32 = ScalarType::F32;

std::vector<float> randomFloats(size_t n, uint64_t seed, double lo = -3, double hi = 3) {
  SplitMix64 g{seed};
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(g.uniform(lo, hi));
  return v;
}

KernelDesc softmaxDesc() {
  KB b(1, "softmax");
  int x = b.in(F32), y = b.out(F32);
  int lx = b.load(x);
  int mx = b.red(ReduceFn::Max, lx);
  int e = b.un(UnaryFn::Exp, b.bin(BinaryFn::Sub, lx, mx));
  int s = b.red(ReduceFn::Sum, e);
  b.store(y, b.bin(BinaryFn::Div, e, s));
  return b.done();
}

TEST(KernelEvaluator, SoftmaxRows) {
  KernelDesc d = softmaxDesc();
  const int64_t rows = 3, cols = 37;
  std::vector<float> x = randomFloats(rows * cols, 1, -20, 20), y(rows * cols, -1);
  Call c{{x.data(), y.data()}, {rows}, {cols, 1, cols, 1}, cols};
  KernelArgs a = c.args();
  evaluateKernel(d, a, 0, rows);
  for (int64_t r = 0; r < rows; ++r) {
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < cols; ++j) mx = std::max(mx, double(x[r * cols + j]));
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(x[r * cols + j] - mx);
    double total = 0;
    for (int64_t j = 0; j < cols; ++j) {
      double want = std::exp(x[r * cols + j] - mx) / sum;
      EXPECT_NEAR(y[r * cols + j], want, 1e-6 * want + 1e-12) << r << "," << j;
      total += y[r * cols + j];
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
}

TEST(KernelEvaluator, RowSubrangeLeavesOtherRowsAlone) {
  KernelDesc d = softmaxDesc();
  std::vector<float> x = randomFloats(4 * 5, 2), y(4 * 5, -1);
  Call c{{x.data(), y.data()}, {4}, {5, 1, 5, 1}, 5};
  KernelArgs a = c.args();
  evaluateKernel(d, a, 1, 3);
  for (int j = 0; j < 5; ++j) {
    EXPECT_EQ(y[j], -1);
    EXPECT_GT(y[5 + j], 0);
    EXPECT_GT(y[10 + j], 0);
    EXPECT_EQ(y[15 + j], -1);
  }
}

TEST(KernelEvaluator, LayerNormWithRowLevelStores) {
  // y = (x - mean) * rsqrt(var + eps) * g + b; mean and rstd stored per row.
  KB b(1, "layernorm");
  int x = b.in(F32), g = b.in(F32), be = b.in(F32);
  int y = b.out(F32), meanOut = b.out(F32, InnerAccess::Broadcast),
      rstdOut = b.out(F32, InnerAccess::Broadcast);
  int lx = b.load(x);
  int cols = 24;
  int inv = b.cnst(F32, 1.0 / cols);
  int mean = b.bin(BinaryFn::Mul, b.red(ReduceFn::Sum, lx), inv);
  int xc = b.bin(BinaryFn::Sub, lx, mean);
  int var = b.bin(BinaryFn::Mul, b.red(ReduceFn::Sum, b.bin(BinaryFn::Mul, xc, xc)), inv);
  int rstd = b.un(UnaryFn::Rsqrt, b.bin(BinaryFn::Add, var, b.cnst(F32, 1e-5)));
  int out = b.bin(BinaryFn::Add, b.bin(BinaryFn::Mul, b.bin(BinaryFn::Mul, xc, rstd), b.load(g)),
                  b.load(be));
  b.store(y, out);
  b.store(meanOut, mean);
  b.store(rstdOut, rstd);
  KernelDesc d = b.done();
  EXPECT_TRUE(d.body[mean].rowLevel);
  EXPECT_FALSE(d.body[xc].rowLevel);

  const int rows = 5;
  std::vector<float> xs = randomFloats(rows * cols, 3, -2, 4), gs = randomFloats(cols, 4),
                     bs = randomFloats(cols, 5), ys(rows * cols), ms(rows), rs(rows);
  // g and b broadcast over rows: outer stride 0.
  Call c{{xs.data(), gs.data(), bs.data(), ys.data(), ms.data(), rs.data()},
         {rows},
         {cols, 1, 0, 1, 0, 1, cols, 1, 1, 0, 1, 0},
         cols};
  KernelArgs a = c.args();
  evaluateKernel(d, a, 0, rows);
  for (int r = 0; r < rows; ++r) {
    double m = 0, v = 0;
    for (int j = 0; j < cols; ++j) m += xs[r * cols + j];
    m /= cols;
    for (int j = 0; j < cols; ++j) v += (xs[r * cols + j] - m) * (xs[r * cols + j] - m);
    v /= cols;
    double rstdWant = 1 / std::sqrt(v + 1e-5);
    EXPECT_NEAR(ms[r], m, 1e-5);
    EXPECT_NEAR(rs[r], rstdWant, 1e-5 * rstdWant);
    for (int j = 0; j < cols; ++j)
      EXPECT_NEAR(ys[r * cols + j], (xs[r * cols + j] - m) * rstdWant * gs[j] + bs[j], 1e-4);
  }
}

TEST(KernelEvaluator, BroadcastAddWithOuterStrideZeroIsExact) {
  // out[a][b][j] = x[a][b][j] + bias[b][j]: bias has outer stride 0 along a.
  KB b(2, "bias_add");
  int x = b.in(F32), bias = b.in(F32), y = b.out(F32);
  b.store(y, b.bin(BinaryFn::Add, b.load(x), b.load(bias)));
  KernelDesc d = b.done();
  const int A = 3, B = 4, J = 9;
  std::vector<float> xs = randomFloats(A * B * J, 6), bs = randomFloats(B * J, 7), ys(A * B * J);
  Call c{{xs.data(), bs.data(), ys.data()}, {A, B}, {B * J, J, 1, 0, J, 1, B * J, J, 1}, J};
  KernelArgs a = c.args();
  evaluateKernel(d, a, 0, c.rows());
  for (int i = 0; i < A; ++i)
    for (int k = 0; k < B; ++k)
      for (int j = 0; j < J; ++j)
        EXPECT_EQ(ys[(i * B + k) * J + j], xs[(i * B + k) * J + j] + bs[k * J + j]);
}

TEST(KernelEvaluator, StridedLoadTransposes) {
  // y[r][j] = x[j][r] for x of shape [J, R]: inner stride R, outer stride 1.
  KB b(1, "transpose");
  int x = b.in(F32, InnerAccess::Strided), y = b.out(F32);
  b.store(y, b.load(x));
  KernelDesc d = b.done();
  const int R = 5, J = 7;
  std::vector<float> xs = randomFloats(R * J, 8), ys(R * J);
  Call c{{xs.data(), ys.data()}, {R}, {1, R, J, 1}, J};
  KernelArgs a = c.args();
  evaluateKernel(d, a, 0, R);
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < J; ++j) EXPECT_EQ(ys[r * J + j], xs[j * R + r]);
}

TEST(KernelEvaluator, CausalMaskFromCoordinates) {
  // scores[b][q][k] masked to -inf where k > q.
  KB b(2, "causal");
  int s = b.in(F32), y = b.out(F32);
  int masked = b.cmp(CompareFn::Gt, b.coord(2), b.coord(1));
  b.store(y, b.sel(masked, b.cnst(F32, -INFINITY), b.load(s)));
  KernelDesc d = b.done();
  const int B = 2, Q = 6, K = 6;
  std::vector<float> xs = randomFloats(B * Q * K, 9), ys(B * Q * K);
  Call c{{xs.data(), ys.data()}, {B, Q}, {Q * K, K, 1, Q * K, K, 1}, K};
  KernelArgs a = c.args();
  evaluateKernel(d, a, 0, c.rows());
  for (int i = 0; i < B * Q * K; ++i) {
    int q = (i / K) % Q, k = i % K;
    if (k > q) EXPECT_EQ(ys[i], -INFINITY);
    else EXPECT_EQ(ys[i], xs[i]);
  }
}

TEST(KernelEvaluator, OneHotFromCoordEqualsLoad) {
  // onehot[r][j] = (labels[r] == j) as f32; labels is one i64 per row (broadcast access).
  KB b(1, "one_hot");
  int lab = b.in(ScalarType::I64, InnerAccess::Broadcast), y = b.out(F32);
  b.store(y, b.cast(F32, b.cmp(CompareFn::Eq, b.coord(1), b.load(lab))));
  KernelDesc d = b.done();
  std::vector<int64_t> labels = {3, 0, 9, -1};
  const int V = 10;
  std::vector<float> ys(4 * V, 7);
  Call c{{labels.data(), ys.data()}, {4}, {1, 0, V, 1}, V};
  KernelArgs a = c.args();
  evaluateKernel(d, a, 0, 4);
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < V; ++j) EXPECT_EQ(ys[r * V + j], labels[r] == j ? 1.0f : 0.0f);
}

TEST(KernelEvaluator, ReductionOrderIsTheDocumentedLaneTree) {
  // 1e8 + 1 + ... is order-sensitive in f32. Build the sum the documented way by hand.
  KB b(0, "sum");
  int x = b.in(F32), y = b.out(F32, InnerAccess::Broadcast);
  b.store(y, b.red(ReduceFn::Sum, b.load(x)));
  KernelDesc d = b.done();
  const int n = 37;
  std::vector<float> xs = randomFloats(n, 10, -1, 1);
  xs[0] = 1e8f;
  xs[17] = -1e8f;
  float out = 0;
  Call c{{xs.data(), &out}, {}, {1, 1}, n};
  KernelArgs a = c.args();
  evaluateKernel(d, a, 0, 1);
  float acc[16] = {};
  for (int j = 0; j < 32; ++j) acc[j % 16] += xs[j];
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  for (int j = 32; j < n; ++j) acc[0] += xs[j];
  EXPECT_EQ(out, acc[0]);
}

TEST(KernelEvaluator, IntegerAndCastEdgeCases) {
  KB b(0, "ints");
  int x = b.in(ScalarType::I32), f = b.in(F32);
  int q = b.out(ScalarType::I32), ci = b.out(ScalarType::I64), cb = b.out(ScalarType::Bool);
  int lx = b.load(x);
  b.store(q, b.bin(BinaryFn::Div, b.cnst(ScalarType::I32, -2147483648.0), lx));
  b.store(ci, b.cast(ScalarType::I64, b.load(f)));
  b.store(cb, b.cast(ScalarType::Bool, b.load(f)));
  KernelDesc d = b.done();
  std::vector<int32_t> xs = {0, -1, 2, 7};
  std::vector<float> fs = {NAN, 1e30f, -2.7f, 0.0f};
  std::vector<int32_t> qs(4);
  std::vector<int64_t> is(4);
  std::vector<uint8_t> bs(4, 9);
  Call c{{xs.data(), fs.data(), qs.data(), is.data(), bs.data()}, {}, {1, 1, 1, 1, 1}, 4};
  KernelArgs a = c.args();
  evaluateKernel(d, a, 0, 1);
  EXPECT_EQ(qs, (std::vector<int32_t>{0, INT32_MIN, -1073741824, -306783378}));
  EXPECT_EQ(is, (std::vector<int64_t>{0, INT64_MAX, -2, 0}));
  EXPECT_EQ(bs, (std::vector<uint8_t>{1, 1, 1, 0}));
}

TEST(KernelDescValidate, ErrorsNameTheKernelAndInstruction) {
  {
    KB b(1, "bad_reduce");
    int x = b.in(F32, InnerAccess::Broadcast), y = b.out(F32, InnerAccess::Broadcast);
    b.store(y, b.red(ReduceFn::Sum, b.load(x)));
    std::string e = b.d.validate();
    EXPECT_NE(e.find("kernel 'bad_reduce': instruction %1 (reduce)"), std::string::npos) << e;
    EXPECT_NE(e.find("row-level"), std::string::npos) << e;
  }
  {
    KB b(1, "bad_type");
    int x = b.in(F32), y = b.out(ScalarType::F64);
    b.store(y, b.load(x));
    std::string e = b.d.validate();
    EXPECT_NE(e.find("kernel 'bad_type': instruction %1 (store)"), std::string::npos) << e;
  }
  {
    KB b(1, "unstored");
    b.in(F32);
    b.out(F32);
    EXPECT_NE(b.d.validate().find("output 'out0' is never stored"), std::string::npos);
  }
  {
    KB b(1, "forward_ref");
    int x = b.in(F32), y = b.out(F32);
    b.load(x);
    b.d.body[0].args = {};
    Instr s;
    s.kind = InstrKind::Store;
    s.buffer = y;
    s.args = {5};
    b.push(s);
    EXPECT_NE(b.d.validate().find("instruction %1 (store): operand %5 is not an earlier"),
              std::string::npos);
  }
  {
    KB b(1, "int_exp");
    int x = b.in(ScalarType::I32), y = b.out(ScalarType::I32);
    b.store(y, b.un(UnaryFn::Exp, b.load(x)));
    EXPECT_NE(b.d.validate().find("exp is not defined on i32"), std::string::npos);
  }
  {
    KB b(4, "row_store_of_element");
    int x = b.in(F32), y = b.out(F32, InnerAccess::Broadcast);
    b.store(y, b.load(x));
    EXPECT_NE(b.d.validate().find("element-level"), std::string::npos);
  }
}

TEST(KernelDescCanonicalText, IgnoresNameAndSeesEverythingElse) {
  KernelDesc a = softmaxDesc(), b = softmaxDesc();
  b.name = "other";
  EXPECT_EQ(a.canonicalText(), b.canonicalText());
  b.body[3].unary = UnaryFn::Tanh;
  EXPECT_NE(a.canonicalText(), b.canonicalText());
  KernelDesc c = softmaxDesc();
  c.inputs[0].inner = InnerAccess::Strided;
  EXPECT_NE(a.canonicalText(), c.canonicalText());
  EXPECT_STREQ(scalarTypeName(ScalarType::Bool), "bool");
  EXPECT_EQ(scalarTypeBytes(ScalarType::F64), 8);
}

}  // namespace
}  // namespace tessera::codegen
