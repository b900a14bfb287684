// Compiled kernels (LLVM, this host's vector width) against the reference evaluator on random data:
// every instruction kind and function, every type, sizes that do not fill a vector, outer ranks
// 0..3, broadcast/strided access. Bit-exact except the f32 transcendentals (ulp bounds).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>

#include "codegen/kernel/KernelCompiler.h"
#include "codegen/kernel/KernelEvaluator.h"
#include "tests/support/SplitMix64.h"
#include "tests/unit/kernels/KernelTestUtil.h"

namespace tessera::codegen {
namespace {

using testing::Call;
using testing::KB;
using testing::layoutFor;
using tessera::testing_support::SplitMix64;
constexpr ScalarType F32 = ScalarType::F32, F64 = ScalarType::F64, I32 = ScalarType::I32,
                     I64 = ScalarType::I64, Bool = ScalarType::Bool;
const ScalarType kAllTypes[] = {F32, F64, I32, I64, Bool};
const int64_t kCols[] = {1, 7, 15, 17, 33, 1000};

KernelCompiler& compiler() {
  static std::unique_ptr<KernelCompiler> c = [] {
    auto r = KernelCompiler::create({});
    EXPECT_TRUE(r.isOk()) << r.status().message();
    return std::move(r).value();
  }();
  return *c;
}

KernelFn compileOne(const KernelDesc& d) {
  auto r = compiler().compile({d});
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? (*r)[0] : nullptr;
}

void fillRandom(ScalarType t, std::vector<uint8_t>& buf, int64_t n, SplitMix64& g) {
  buf.assign(n * scalarTypeBytes(t), 0);
  for (int64_t i = 0; i < n; ++i) {
    uint8_t* p = buf.data() + i * scalarTypeBytes(t);
    int special = static_cast<int>(g.below(16));
    double v = g.uniform(-4, 4);
    if (special == 0) v = 0;
    switch (t) {
      case ScalarType::F32: {
        float f = static_cast<float>(v);
        if (special == 1) f = -0.0f;
        std::memcpy(p, &f, 4);
        break;
      }
      case ScalarType::F64: {
        if (special == 1) v = -0.0;
        std::memcpy(p, &v, 8);
        break;
      }
      case ScalarType::I32: {
        int32_t x = static_cast<int32_t>(g.below(2001)) - 1000;
        if (special == 0) x = 0;
        if (special == 1) x = -1;
        std::memcpy(p, &x, 4);
        break;
      }
      case ScalarType::I64: {
        int64_t x = static_cast<int64_t>(g.below(2001)) - 1000;
        if (special == 0) x = 0;
        if (special == 1) x = INT64_MIN;
        std::memcpy(p, &x, 8);
        break;
      }
      case ScalarType::Bool: *p = static_cast<uint8_t>(g.below(2)); break;
    }
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

// Runs `d` compiled and evaluated on the same random inputs and compares every output element.
// ulps[o]: allowed f32 ulp distance for output o (0 or absent: bit-exact, NaN payload aside).
void expectAgreement(const KernelDesc& d, KernelFn fn, const std::vector<int64_t>& extents,
                     int64_t cols, uint64_t seed, std::map<int, int> ulps = {},
                     bool broadcastDim0 = false) {
  ASSERT_NE(fn, nullptr);
  SplitMix64 g{seed};
  size_t numIn = d.inputs.size(), numBuf = numIn + d.outputs.size();
  std::vector<std::vector<uint8_t>> data(numBuf), evalOut(d.outputs.size());
  Call cc, ce;
  cc.extents = ce.extents = extents;
  cc.cols = ce.cols = cols;
  for (size_t b = 0; b < numBuf; ++b) {
    const BufferDesc& bd = b < numIn ? d.inputs[b] : d.outputs[b - numIn];
    auto l = layoutFor(bd.inner, extents, cols, broadcastDim0 && b == 0 && b < numIn);
    cc.strides.insert(cc.strides.end(), l.strides.begin(), l.strides.end());
    fillRandom(bd.type, data[b], l.elems, g);  // outputs get garbage: both sides overwrite it
    if (b >= numIn) evalOut[b - numIn] = data[b];
  }
  ce.strides = cc.strides;
  for (size_t b = 0; b < numBuf; ++b) {
    cc.ptrs.push_back(data[b].data());
    ce.ptrs.push_back(b < numIn ? data[b].data() : evalOut[b - numIn].data());
  }
  KernelArgs ac = cc.args(), ae = ce.args();
  int64_t rows = cc.rows();
  // Two calls on a split row range: rowBegin must be honoured.
  fn(&ac, 0, rows / 2);
  fn(&ac, rows / 2, rows);
  evaluateKernel(d, ae, 0, rows);
  for (size_t o = 0; o < d.outputs.size(); ++o) {
    ScalarType t = d.outputs[o].type;
    int bytes = scalarTypeBytes(t);
    const std::vector<uint8_t>& got = data[numIn + o];
    const std::vector<uint8_t>& want = evalOut[o];
    int tol = ulps.count(static_cast<int>(o)) ? ulps[static_cast<int>(o)] : 0;
    int bad = 0;
    for (size_t i = 0; i < got.size() / bytes && bad < 5; ++i) {
      const uint8_t* pg = got.data() + i * bytes;
      const uint8_t* pw = want.data() + i * bytes;
      if (std::memcmp(pg, pw, bytes) == 0) continue;
      if (t == F32) {
        float a, b;
        std::memcpy(&a, pg, 4);
        std::memcpy(&b, pw, 4);
        if (std::isnan(a) && std::isnan(b)) continue;
        if (tol > 0 && !std::isnan(a) && !std::isnan(b) && ulpDistance(a, b) <= tol) continue;
        ADD_FAILURE() << d.name << " output " << o << " element " << i << ": compiled " << a
                      << " evaluated " << b << " (cols " << cols << ")";
      } else if (t == F64) {
        double a, b;
        std::memcpy(&a, pg, 8);
        std::memcpy(&b, pw, 8);
        if (std::isnan(a) && std::isnan(b)) continue;
        ADD_FAILURE() << d.name << " output " << o << " element " << i << ": compiled " << a
                      << " evaluated " << b << " (cols " << cols << ")";
      } else {
        ADD_FAILURE() << d.name << " output " << o << " element " << i << " differs (type "
                      << scalarTypeName(t) << ", cols " << cols << ")";
      }
      ++bad;
    }
  }
}

bool unaryOk(UnaryFn f, ScalarType t) {
  switch (f) {
    case UnaryFn::Neg:
    case UnaryFn::Abs:
    case UnaryFn::Relu: return t != Bool;
    case UnaryFn::Not: return t == Bool;
    default: return isFloatType(t);
  }
}
bool transcendental(UnaryFn f) {
  switch (f) {
    case UnaryFn::Exp: case UnaryFn::Log: case UnaryFn::Tanh: case UnaryFn::Sigmoid:
    case UnaryFn::GeluErf: case UnaryFn::GeluTanh: case UnaryFn::Silu: case UnaryFn::Erf:
      return true;
    default: return false;
  }
}

TEST(CompiledKernels, EveryUnaryFunction) {
  for (ScalarType t : kAllTypes) {
    KB b(1, (std::string("unary_") + scalarTypeName(t)).c_str());
    int x = b.in(t);
    std::vector<UnaryFn> fns;
    for (int f = 0; f <= static_cast<int>(UnaryFn::Not); ++f)
      if (unaryOk(static_cast<UnaryFn>(f), t)) fns.push_back(static_cast<UnaryFn>(f));
    std::vector<int> outs;
    for (size_t k = 0; k < fns.size(); ++k) outs.push_back(b.out(t));
    int lx = b.load(x);
    std::map<int, int> ulps;
    for (size_t k = 0; k < fns.size(); ++k) {
      b.store(outs[k], b.un(fns[k], lx));
      // Different (few-ulp) tanh/erfc under the cancellation in gelu's 1 + t amplify to tens
      // of ulp of the result; VectorMathTest bounds the real error against double.
      bool gelu = fns[k] == UnaryFn::GeluErf || fns[k] == UnaryFn::GeluTanh;
      if (t == F32 && transcendental(fns[k])) ulps[static_cast<int>(k)] = gelu ? 64 : 8;
    }
    KernelDesc d = b.done();
    KernelFn fn = compileOne(d);
    for (int64_t cols : kCols) expectAgreement(d, fn, {3}, cols, 100 + cols, ulps);
  }
}

TEST(CompiledKernels, EveryBinaryFunctionCompareAndSelect) {
  for (ScalarType t : kAllTypes) {
    KB b(1, (std::string("binary_") + scalarTypeName(t)).c_str());
    int x = b.in(t), y = b.in(t), c = b.in(Bool);
    std::vector<BinaryFn> fns;
    for (int f = 0; f <= static_cast<int>(BinaryFn::Or); ++f) {
      auto fn = static_cast<BinaryFn>(f);
      bool ok = fn == BinaryFn::Pow                       ? isFloatType(t)
                : fn == BinaryFn::And || fn == BinaryFn::Or ? t == Bool
                                                            : t != Bool;
      if (ok) fns.push_back(fn);
    }
    std::vector<int> outs, cmpOuts;
    for (size_t k = 0; k < fns.size(); ++k) outs.push_back(b.out(t));
    for (int k = 0; k < 6; ++k) cmpOuts.push_back(b.out(Bool));
    int selOut = b.out(t);
    int lx = b.load(x), ly = b.load(y);
    for (size_t k = 0; k < fns.size(); ++k) b.store(outs[k], b.bin(fns[k], lx, ly));
    for (int k = 0; k < 6; ++k) b.store(cmpOuts[k], b.cmp(static_cast<CompareFn>(k), lx, ly));
    b.store(selOut, b.sel(b.load(c), lx, ly));
    KernelDesc d = b.done();
    KernelFn fn = compileOne(d);
    for (int64_t cols : kCols) expectAgreement(d, fn, {2}, cols, 200 + cols);
  }
}

TEST(CompiledKernels, EveryCast) {
  for (ScalarType from : kAllTypes) {
    KB b(1, (std::string("cast_from_") + scalarTypeName(from)).c_str());
    int x = b.in(from);
    std::vector<int> outs;
    for (ScalarType to : kAllTypes) outs.push_back(b.out(to));
    int lx = b.load(x);
    // Scale floats up so that saturation and truncation both show.
    if (isFloatType(from)) lx = b.bin(BinaryFn::Mul, lx, b.cnst(from, 1e9));
    for (size_t k = 0; k < outs.size(); ++k) b.store(outs[k], b.cast(kAllTypes[k], lx));
    KernelDesc d = b.done();
    KernelFn fn = compileOne(d);
    for (int64_t cols : kCols) expectAgreement(d, fn, {2}, cols, 300 + cols);
  }
}

TEST(CompiledKernels, ReductionsAreBitExactInEveryType) {
  for (ScalarType t : {F32, F64, I32, I64}) {
    KB b(1, (std::string("reduce_") + scalarTypeName(t)).c_str());
    int x = b.in(t);
    int so = b.out(t, InnerAccess::Broadcast), mo = b.out(t, InnerAccess::Broadcast),
        no = b.out(t, InnerAccess::Broadcast), eo = b.out(t);
    int lx = b.load(x);
    int mx = b.red(ReduceFn::Max, lx);
    b.store(so, b.red(ReduceFn::Sum, lx));
    b.store(mo, mx);
    b.store(no, b.red(ReduceFn::Min, lx));
    // A second pass that depends on the first: sum of (x - max), broadcast into an element output.
    int s2 = b.red(ReduceFn::Sum, b.bin(BinaryFn::Sub, lx, mx));
    b.store(eo, b.bin(BinaryFn::Add, lx, s2));
    KernelDesc d = b.done();
    KernelFn fn = compileOne(d);
    for (int64_t cols : {0, 1, 7, 15, 16, 17, 33, 1000}) expectAgreement(d, fn, {4}, cols, 400 + cols);
  }
}

// A softmax / layer-norm style kernel at every outer rank, with broadcast and strided inputs.
KernelDesc compositeKernel(int rank) {
  KB b(rank, ("composite_rank" + std::to_string(rank)).c_str());
  int x = b.in(F32), bias = b.in(F32), xt = b.in(F32, InnerAccess::Strided),
      scale = b.in(F32, InnerAccess::Broadcast), lab = b.in(I64, InnerAccess::Broadcast);
  int y = b.out(F32), lse = b.out(F32, InnerAccess::Broadcast), yt = b.out(F32, InnerAccess::Strided),
      hot = b.out(Bool);
  int v = b.bin(BinaryFn::Mul, b.bin(BinaryFn::Add, b.load(x), b.load(bias)), b.load(scale));
  v = b.bin(BinaryFn::Add, v, b.load(xt));
  if (rank >= 1) {  // causal-style mask on the last row coordinate
    int mask = b.cmp(CompareFn::Gt, b.coord(rank), b.coord(rank - 1));
    v = b.sel(mask, b.cnst(F32, -1e4), v);
  }
  int mx = b.red(ReduceFn::Max, v);
  int e = b.un(UnaryFn::Exp, b.bin(BinaryFn::Sub, v, mx));
  int s = b.red(ReduceFn::Sum, e);
  b.store(y, b.bin(BinaryFn::Div, e, s));
  b.store(lse, b.bin(BinaryFn::Add, b.un(UnaryFn::Log, s), mx));
  b.store(yt, b.un(UnaryFn::Tanh, v));
  b.store(hot, b.cmp(CompareFn::Eq, b.coord(rank), b.load(lab)));
  return b.done();
}

TEST(CompiledKernels, CompositeAtEveryOuterRankAndOddSizes) {
  for (int rank = 0; rank <= 3; ++rank) {
    KernelDesc d = compositeKernel(rank);
    KernelFn fn = compileOne(d);
    std::vector<int64_t> ext;
    for (int k = 0; k < rank; ++k) ext.push_back(k == 0 ? 2 : 3);
    // exp/log/tanh use the compiled polynomials: compare within a few ulp.
    std::map<int, int> ulps{{0, 16}, {1, 16}, {2, 8}};
    for (int64_t cols : kCols) {
      expectAgreement(d, fn, ext, cols, 500 + cols + rank, ulps);
      expectAgreement(d, fn, ext, cols, 600 + cols + rank, ulps, /*broadcastDim0=*/true);
    }
  }
}

TEST(CompiledKernels, IdenticalDescriptionsCompileOnce) {
  KernelDesc a = compositeKernel(1), b = compositeKernel(1);
  b.name = "renamed";
  auto c = KernelCompiler::create({});
  ASSERT_TRUE(c.isOk());
  auto r = (*c)->compile({a, b, a});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ((*r)[0], (*r)[1]);
  EXPECT_EQ((*r)[0], (*r)[2]);
  EXPECT_EQ((*c)->stats().compiled, 1);
  EXPECT_EQ((*c)->stats().memoryHits, 2);
}

TEST(CompiledKernels, InvalidDescriptionIsAnErrorNamingIt) {
  KB b(1, "broken_kernel");
  int x = b.in(F32), y = b.out(I32);
  b.store(y, b.load(x));
  auto r = compiler().compile({b.d});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("broken_kernel"), std::string::npos) << r.status().message();
}

TEST(CompiledKernels, Avx2AndAvx512TargetsCompile) {
  // Forcing the CPU changes the vector width (and the cache key); results must not change.
  auto c = KernelCompiler::create({.cacheDir = "", .cpuOverride = "x86-64-v3", .optLevel = 2});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_NE((*c)->targetDescription().find("avx2"), std::string::npos);
  KernelDesc d = compositeKernel(2);
  auto r = (*c)->compile({d});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  std::map<int, int> ulps{{0, 16}, {1, 16}, {2, 8}};
  expectAgreement(d, (*r)[0], {2, 3}, 37, 700, ulps);
  auto bad = KernelCompiler::create({.cacheDir = "", .cpuOverride = "no-such-cpu", .optLevel = 2});
  EXPECT_FALSE(bad.isOk());
}

}  // namespace
}  // namespace tessera::codegen
