// Printing and parsing of dense tensor literals.
#include "ir/text/TensorLiteral.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace tessera::ir::text {

// ---------------------------------------------------------------- printing

std::string printScalar(double v, DType dt) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::to_chars_result res;
  switch (dt) {
    case DType::F64: res = std::to_chars(buf, buf + sizeof buf, v); break;
    case DType::F32:
    case DType::BF16:
    case DType::F16:
      // The value is exactly a float; the shortest float text reads back to it.
      res = std::to_chars(buf, buf + sizeof buf, static_cast<float>(v));
      break;
    case DType::I32:
    case DType::I64: res = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v)); break;
    case DType::Bool: return v != 0 ? "true" : "false";
  }
  return std::string(buf, res.ptr);
}

static void appendBytes(std::string& out, const void* p, int n) {
  static const char* hex = "0123456789abcdef";
  const unsigned char* b = static_cast<const unsigned char*>(p);
  for (int i = 0; i < n; ++i) {  // little-endian on the machines Tessera runs on
    out += hex[b[i] >> 4];
    out += hex[b[i] & 15];
  }
}

static void appendElementHex(std::string& out, double v, DType dt) {
  switch (dt) {
    case DType::F32: {
      float f = static_cast<float>(v);
      appendBytes(out, &f, 4);
      break;
    }
    case DType::F64: appendBytes(out, &v, 8); break;
    case DType::BF16: {
      uint16_t b = floatToBf16Bits(static_cast<float>(v));
      appendBytes(out, &b, 2);
      break;
    }
    case DType::F16: {
      uint16_t b = floatToHalfBits(static_cast<float>(v));
      appendBytes(out, &b, 2);
      break;
    }
    case DType::I32: {
      int32_t i = static_cast<int32_t>(v);
      appendBytes(out, &i, 4);
      break;
    }
    case DType::I64: {
      int64_t i = static_cast<int64_t>(v);
      appendBytes(out, &i, 8);
      break;
    }
    case DType::Bool: {
      uint8_t b = v != 0 ? 1 : 0;
      appendBytes(out, &b, 1);
      break;
    }
  }
}

std::string printDense(const Tensor& t) {
  std::string out = "dense<" + std::string(dtypeName(t.dtype())) + t.shapeStr() + ", ";
  if (t.numElements() > kMaxListedElements) {
    out += "0x";
    out.reserve(out.size() + static_cast<size_t>(t.numElements()) * dtypeBytes(t.dtype()) * 2);
    for (double v : t.data()) appendElementHex(out, v, t.dtype());
  } else {
    out += "[";
    for (int64_t i = 0; i < t.numElements(); ++i) {
      if (i) out += ", ";
      out += printScalar(t[i], t.dtype());
    }
    out += "]";
  }
  return out + ">";
}

// ---------------------------------------------------------------- parsing

// Integers are held as doubles (Tensor.h); refuse those a double cannot hold exactly.
static constexpr int64_t kMaxExactInt = int64_t{1} << 53;

static Status checkIntElement(Reader& r, const Token& at, int64_t v, DType dt) {
  if (dt == DType::I32 &&
      (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()))
    return r.errorAt(at, "value " + std::to_string(v) + " does not fit in i32");
  if (dt == DType::I64 && (v < -kMaxExactInt || v > kMaxExactInt))
    return r.errorAt(at, "value " + std::to_string(v) +
                             " is beyond 2^53 and cannot be held exactly in a tensor");
  return Status::ok();
}

static StatusOr<double> parseElement(Reader& r, DType dt) {
  const Token& at = r.peek();
  if (dt == DType::Bool) {
    if (r.atWord("true") || r.atWord("false")) return r.take().text == "true" ? 1.0 : 0.0;
    if (r.at(Tok::Int) && (at.text == "0" || at.text == "1"))
      return r.take().text == "1" ? 1.0 : 0.0;
    return r.expected("'true' or 'false'");
  }
  if (isInteger(dt)) {
    TRY_ASSIGN(int64_t v, r.parseInt("an integer element"));
    TRY(checkIntElement(r, at, v, dt));
    return static_cast<double>(v);
  }
  return r.parseFloat("a number");
}

static int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;  // the lexer admits only hex digits
}

static StatusOr<double> decodeElement(Reader& r, const Token& at, const unsigned char* b,
                                      DType dt) {
  switch (dt) {
    case DType::F32: {
      float f;
      std::memcpy(&f, b, 4);
      return static_cast<double>(f);
    }
    case DType::F64: {
      double d;
      std::memcpy(&d, b, 8);
      return d;
    }
    case DType::BF16: {
      uint16_t u;
      std::memcpy(&u, b, 2);
      return static_cast<double>(bf16BitsToFloat(u));
    }
    case DType::F16: {
      uint16_t u;
      std::memcpy(&u, b, 2);
      return static_cast<double>(halfBitsToFloat(u));
    }
    case DType::I32: {
      int32_t i;
      std::memcpy(&i, b, 4);
      return static_cast<double>(i);
    }
    case DType::I64: {
      int64_t i;
      std::memcpy(&i, b, 8);
      TRY(checkIntElement(r, at, i, dt));
      return static_cast<double>(i);
    }
    case DType::Bool:
      if (b[0] > 1) return r.errorAt(at, "bool tensor bytes must be 00 or 01");
      return static_cast<double>(b[0]);
  }
  return 0.0;
}

StatusOr<Tensor> parseDense(Reader& r) {
  TRY(r.expectWord("dense"));
  TRY(r.expect(Tok::Less, "'<' after 'dense'"));
  const Token& typeTok = r.peek();
  TRY_ASSIGN(TensorType type, r.parseType());
  std::vector<int64_t> shape;
  int64_t count = 1;
  bool overflow = false;
  for (const Dim& d : type.shape) {
    std::optional<int64_t> c = d.constant();
    if (!c || *c < 0)
      return r.errorAt(typeTok,
                       "a dense literal needs a concrete shape of non-negative "
                       "integers, found " +
                           type.str());
    shape.push_back(*c);
    if (__builtin_mul_overflow(count, *c, &count)) overflow = true;
  }
  if (overflow) count = std::numeric_limits<int64_t>::max();
  TRY(r.expect(Tok::Comma, "',' after the literal's type"));

  std::vector<double> values;
  if (r.at(Tok::Hex)) {
    const Token& hex = r.take();
    const int64_t width = dtypeBytes(type.dtype);
    // Compare the claim with the text actually present before allocating anything.
    int64_t digits = static_cast<int64_t>(hex.text.size());
    int64_t needed = 0;
    bool huge = overflow || __builtin_mul_overflow(count, 2 * width, &needed);
    if (huge || needed != digits)
      return r.errorAt(hex, type.str() + " needs " +
                                (huge ? std::string("more than 2^63") : std::to_string(needed)) +
                                " hex digits (2 per byte, " + std::to_string(width) +
                                " bytes per element), found " + std::to_string(digits));
    values.reserve(static_cast<size_t>(count));
    unsigned char bytes[8];
    for (int64_t i = 0; i < count; ++i) {
      for (int64_t j = 0; j < width; ++j) {
        size_t k = static_cast<size_t>((i * width + j) * 2);
        bytes[j] =
            static_cast<unsigned char>(hexValue(hex.text[k]) * 16 + hexValue(hex.text[k + 1]));
      }
      TRY_ASSIGN(double v, decodeElement(r, hex, bytes, type.dtype));
      values.push_back(v);
    }
  } else {
    TRY(r.expect(Tok::LBracket, "'[' or a hex literal with the values"));
    while (!r.at(Tok::RBracket)) {
      if (!values.empty()) TRY(r.expect(Tok::Comma, "',' or ']' in the values"));
      const Token& at = r.peek();
      TRY_ASSIGN(double v, parseElement(r, type.dtype));
      if (static_cast<int64_t>(values.size()) >= count)
        return r.errorAt(at, type.str() + " holds " + std::to_string(count) +
                                 " elements but more values are given");
      values.push_back(v);
    }
    const Token& close = r.take();
    if (static_cast<int64_t>(values.size()) != count)
      return r.errorAt(close, type.str() + " holds " + std::to_string(count) + " elements but " +
                                  std::to_string(values.size()) + " values are given");
  }
  TRY(r.expect(Tok::Greater, "'>' closing the dense literal"));
  return Tensor(type.dtype, std::move(shape), std::move(values));
}

}  // namespace tessera::ir::text
