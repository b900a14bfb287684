// Accuracy of the compiled f32 transcendentals against libm in double over a sweep of the whole
// float range (every 4099th bit pattern, plus extremes, infinities, NaN and denormals), and the
// guarantee that a vector body and a scalar tail compute the same bits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <cfloat>
#include <cstdio>
#include <limits>

#include "codegen/kernel/KernelCompiler.h"
#include "tests/unit/kernels/KernelTestUtil.h"

namespace tessera::codegen {
namespace {

using testing::Call;
using testing::KB;
constexpr ScalarType F32 = ScalarType::F32;

const UnaryFn kFns[] = {UnaryFn::Exp,  UnaryFn::Log,     UnaryFn::Tanh,     UnaryFn::Erf,
                        UnaryFn::Sigmoid, UnaryFn::Silu, UnaryFn::GeluErf, UnaryFn::GeluTanh};

double reference(UnaryFn f, double x) {
  switch (f) {
    case UnaryFn::Exp: return std::exp(x);
    case UnaryFn::Log: return std::log(x);
    case UnaryFn::Tanh: return std::tanh(x);
    case UnaryFn::Erf: return std::erf(x);
    case UnaryFn::Sigmoid: return 1 / (1 + std::exp(-x));
    case UnaryFn::Silu: return x / (1 + std::exp(-x));
    case UnaryFn::GeluErf: return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
    case UnaryFn::GeluTanh:
      return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    default: return NAN;
  }
}

int64_t ulpDistance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  int64_t oa = ia < 0 ? int64_t(INT32_MIN) - ia : ia;
  int64_t ob = ib < 0 ? int64_t(INT32_MIN) - ib : ib;
  return std::llabs(oa - ob);
}

std::vector<float> sweep() {
  std::vector<float> xs;
  for (uint64_t bits = 0; bits < (1ull << 32); bits += 4099) {
    uint32_t b = static_cast<uint32_t>(bits);
    float f;
    std::memcpy(&f, &b, 4);
    xs.push_back(f);
  }
  const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-45f, -1e-45f, 1e-40f,
                            FLT_MIN, FLT_MAX, -FLT_MAX, 88.72f, 88.73f, -87.33f, -103.9f,
                            -104.0f, 0.625f, -0.625f, 1.0f, -1.0f, 2.0f, -2.0f, 9.0f, -9.0f, 0.5f};
  xs.insert(xs.end(), std::begin(specials), std::end(specials));
  while (xs.size() % kReduceLanes != 0) xs.push_back(0.25f);
  return xs;
}

KernelDesc mathKernel(int rank) {
  KB b(rank, "math");
  int x = b.in(F32);
  std::vector<int> outs;
  for (size_t k = 0; k < std::size(kFns); ++k) outs.push_back(b.out(F32));
  int lx = b.load(x);
  for (size_t k = 0; k < std::size(kFns); ++k) b.store(outs[k], b.un(kFns[k], lx));
  return b.done();
}

// Runs the math kernel over xs as `rows × cols` (contiguous) and returns one vector per function.
std::vector<std::vector<float>> run(KernelFn fn, const std::vector<float>& xs, int64_t rows,
                                    int64_t cols) {
  std::vector<std::vector<float>> outs(std::size(kFns), std::vector<float>(xs.size()));
  Call c;
  c.ptrs.push_back(const_cast<float*>(xs.data()));
  for (auto& o : outs) c.ptrs.push_back(o.data());
  if (rows > 1) c.extents = {rows};
  c.cols = cols;
  for (size_t b = 0; b < c.ptrs.size(); ++b) {
    if (rows > 1) c.strides.push_back(cols);
    c.strides.push_back(1);
  }
  KernelArgs a = c.args();
  fn(&a, 0, rows);
  return outs;
}

TEST(VectorMath, F32AccuracyOverTheWholeRange) {
  auto comp = KernelCompiler::create({});
  ASSERT_TRUE(comp.isOk()) << comp.status().message();
  auto fns = (*comp)->compile({mathKernel(0)});
  ASSERT_TRUE(fns.isOk()) << fns.status().message();
  std::vector<float> xs = sweep();
  auto outs = run((*fns)[0], xs, 1, static_cast<int64_t>(xs.size()));
  // Bounds in ulp of the correctly rounded result. The gelu forms multiply 0.5 x by (1 + t), where
  // t's ulp error is amplified by the cancellation in 1 + t for negative x: allow that as an
  // absolute error of a few ulp of 0.5|x|.
  const int maxUlp[] = {2, 3, 4, 4, 4, 5, 6, 6};
  for (size_t k = 0; k < std::size(kFns); ++k) {
    int64_t worst = 0;
    float worstX = 0;
    int failures = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      float x = xs[i], got = outs[k][i];
      double ref = reference(kFns[k], x);
      float want = static_cast<float>(ref);
      if (std::isnan(want) || std::isnan(got)) {
        if (std::isnan(want) != std::isnan(got) && failures++ < 3)
          ADD_FAILURE() << unaryFnName(kFns[k]) << "(" << x << ") = " << got << ", want " << want;
        continue;
      }
      int64_t d = ulpDistance(got, want);
      bool gelu = kFns[k] == UnaryFn::GeluErf || kFns[k] == UnaryFn::GeluTanh;
      if (gelu && std::fabs(got - ref) <= 4 * 0x1p-24 * 0.5 * std::fabs(x)) continue;
      // silu = x * sigmoid(x): below x = -87 sigmoid is subnormal (fewer bits), scaled back by x.
      if (kFns[k] == UnaryFn::Silu && std::fabs(got - ref) <= 2 * 0x1p-149 * std::fabs(x)) continue;
      if (d > worst) worst = d, worstX = x;
      if (d > maxUlp[k] && failures++ < 3)
        ADD_FAILURE() << unaryFnName(kFns[k]) << "(" << x << ") = " << got << ", want " << want
                      << " (" << d << " ulp)";
    }
    std::printf("%-10s worst %lld ulp at x = %g\n", unaryFnName(kFns[k]),
                static_cast<long long>(worst), worstX);
  }
}

TEST(VectorMath, ScalarTailEqualsVectorBodyBitForBit) {
  auto comp = KernelCompiler::create({});
  ASSERT_TRUE(comp.isOk());
  auto fns = (*comp)->compile({mathKernel(0), mathKernel(1)});
  ASSERT_TRUE(fns.isOk()) << fns.status().message();
  std::vector<float> xs = sweep();
  xs.resize(64 * 1024);
  auto body = run((*fns)[0], xs, 1, static_cast<int64_t>(xs.size()));       // vector lanes
  auto tail = run((*fns)[1], xs, static_cast<int64_t>(xs.size()), 1);       // all scalar tails
  for (size_t k = 0; k < std::size(kFns); ++k)
    EXPECT_EQ(std::memcmp(body[k].data(), tail[k].data(), xs.size() * 4), 0) << unaryFnName(kFns[k]);
}

}  // namespace
}  // namespace tessera::codegen
