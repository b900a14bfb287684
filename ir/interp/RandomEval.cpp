// Reference semantics of `random`: counter-based, so element i of the global tensor depends on
// (seed, i) only. Later compiled kernels must reproduce this exactly; the algorithm is:
//
//  1. key = (low 32 bits of seed, high 32 bits of seed)   [seed read as a 64-bit two's complement]
//     counter = (low 32 bits of i, high 32 bits of i, 0, 0), i = row-major index of the element
//     (x0, x1, x2, x3) = Philox4x32-10(counter, key)
//     with multipliers 0xD2511F53, 0xCD9E8D57 and key increments 0x9E3779B9, 0xBB67AE85; one round
//     maps (c0,c1,c2,c3) to (hi(M1*c2) ^ c1 ^ k0, lo(M1*c2), hi(M0*c0) ^ c3 ^ k1, lo(M0*c0)),
//     and the key is bumped after each of the first 9 rounds.
//  2. w = (x1 << 32) | x0  and  v = (x3 << 32) | x2, as unsigned 64-bit integers.
//  3. uniform on [a, b), defaults a = 0, b = 1: let p be the significand precision of the result
//     type (f64 53, f32 24, f16 11, bf16 8) and u = (w >> (64 - p)) * 2^-p, exactly representable
//     and in [0, 1). The value is round_t(a + (b - a) * u) with the arithmetic in double; if that
//     rounds up to b or beyond, it is replaced by the largest value of type t below b.
//  4. normal with mean a and standard deviation b, defaults 0 and 1 (Box-Muller, cosine branch):
//     u1 = ((w >> 11) + 1) * 2^-53 in (0, 1], u2 = (v >> 11) * 2^-53 in [0, 1),
//     z = sqrt(-2 ln u1) * cos(2 pi u2), value = round_t(a + b * z), arithmetic in double with
//     std::log / std::sqrt / std::cos.
#include "ir/interp/Philox.h"

#include <cmath>

#include "ir/Op.h"

namespace tessera::ir {

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  constexpr uint64_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k[0] += kW0;
      k[1] += kW1;
    }
    uint64_t p0 = kM0 * c[0];
    uint64_t p1 = kM1 * c[2];
    c = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<uint32_t>(p1),
         static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<uint32_t>(p0)};
  }
  return c;
}

static std::array<uint32_t, 4> drawWords(uint64_t seed, uint64_t i) {
  return philox4x32_10({static_cast<uint32_t>(i), static_cast<uint32_t>(i >> 32), 0, 0},
                       {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
}

static int significandBits(DType t) {
  switch (t) {
    case DType::F64: return 53;
    case DType::F32: return 24;
    case DType::F16: return 11;
    case DType::BF16: return 8;
    default: assert(false && "random needs a float type"); return 53;
  }
}

// The largest value of float type t strictly below x (x already representable in t).
static double stepDown(double x, DType t) {
  switch (t) {
    case DType::F64: return std::nextafter(x, -INFINITY);
    case DType::F32: return std::nextafter(static_cast<float>(x), -INFINITY);
    case DType::BF16:
    case DType::F16: {
      bool bf = t == DType::BF16;
      uint16_t bits = bf ? floatToBf16Bits(static_cast<float>(x))
                         : floatToHalfBits(static_cast<float>(x));
      if ((bits & 0x7FFF) == 0) bits = 0x8001;  // +-0: the smallest negative subnormal
      else if (bits & 0x8000) bits = static_cast<uint16_t>(bits + 1);  // more negative
      else bits = static_cast<uint16_t>(bits - 1);
      return bf ? bf16BitsToFloat(bits) : halfBitsToFloat(bits);
    }
    default: return x;
  }
}

double randomUniformElement(uint64_t seed, uint64_t i, DType t, double a, double b) {
  std::array<uint32_t, 4> x = drawWords(seed, i);
  uint64_t w = (static_cast<uint64_t>(x[1]) << 32) | x[0];
  int p = significandBits(t);
  double u = std::ldexp(static_cast<double>(w >> (64 - p)), -p);
  double r = roundToDType(a + (b - a) * u, t);
  if (r >= b && a < b) r = stepDown(roundToDType(b, t), t);
  return r;
}

double randomNormalElement(uint64_t seed, uint64_t i, DType t, double mean, double stddev) {
  constexpr double kTwoPi = 6.28318530717958647692;
  std::array<uint32_t, 4> x = drawWords(seed, i);
  uint64_t w = (static_cast<uint64_t>(x[1]) << 32) | x[0];
  uint64_t v = (static_cast<uint64_t>(x[3]) << 32) | x[2];
  double u1 = std::ldexp(static_cast<double>((w >> 11) + 1), -53);
  double u2 = std::ldexp(static_cast<double>(v >> 11), -53);
  double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
  return roundToDType(mean + stddev * z, t);
}

StatusOr<std::vector<Tensor>> evalRandom(const EvalContext& ctx) {
  auto seed = static_cast<uint64_t>(ctx.op.intAttr("seed"));
  DType t = ctx.resultDTypes[0];
  Tensor out(t, ctx.resultShapes[0]);
  // Values are already rounded to t, so storing them through set() changes nothing.
  if (ctx.op.enumAttr<RandomDist>("dist", RandomDist::Uniform) == RandomDist::Uniform) {
    double a = ctx.op.floatAttr("a", 0.0), b = ctx.op.floatAttr("b", 1.0);
    for (int64_t i = 0; i < out.numElements(); ++i)
      out.set(i, randomUniformElement(seed, static_cast<uint64_t>(i), t, a, b));
  } else {
    double mean = ctx.op.floatAttr("a", 0.0), stddev = ctx.op.floatAttr("b", 1.0);
    for (int64_t i = 0; i < out.numElements(); ++i)
      out.set(i, randomNormalElement(seed, static_cast<uint64_t>(i), t, mean, stddev));
  }
  return std::vector<Tensor>{std::move(out)};
}

}  // namespace tessera::ir
