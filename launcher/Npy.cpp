// .npy reading (untrusted bytes, every check reported with the file name) and writing.
//
// The header is a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// parsed here by a small recursive-descent reader that accepts exactly the literals numpy writes
// (strings, True/False, tuples of non-negative integers) and nothing else.
#include "launcher/Npy.h"

#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include "launcher/FileUtil.h"

namespace tessera::launcher {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// numpy itself refuses headers over 10000 bytes by default; allow more, but bound it so a
// corrupted length can never make us scan or allocate gigabytes.
constexpr uint32_t kMaxHeaderLen = 1u << 20;

struct Header {
  std::string descr;
  bool fortranOrder = false;
  std::vector<int64_t> shape;
};

// A cursor over the header text; every error says "header: ..." and the offending position.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& file) : s_(text), file_(file) {}

  StatusOr<Header> parse() {
    std::map<std::string, bool> seen;
    Header h;
    skipSpace();
    if (!eat('{')) return error("expected '{' at the start of the dict");
    while (true) {
      skipSpace();
      if (eat('}')) break;
      TRY_ASSIGN(std::string key, parseString("a key"));
      if (seen[key]) return error("duplicate key '" + key + "'");
      seen[key] = true;
      skipSpace();
      if (!eat(':')) return error("expected ':' after key '" + key + "'");
      skipSpace();
      if (key == "descr") {
        if (peek() == '[')
          return error("structured dtypes (a list as 'descr') are not supported");
        TRY_ASSIGN(h.descr, parseString("a dtype string for 'descr'"));
      } else if (key == "fortran_order") {
        TRY_ASSIGN(h.fortranOrder, parseBool());
      } else if (key == "shape") {
        TRY_ASSIGN(h.shape, parseShape());
      } else {
        return error("unexpected key '" + key + "' (expected 'descr', 'fortran_order', 'shape')");
      }
      skipSpace();
      if (eat(',')) continue;
      skipSpace();
      if (eat('}')) break;
      return error("expected ',' or '}' after the value of '" + key + "'");
    }
    skipSpace();
    if (pos_ != s_.size()) return error("unexpected text after the closing '}'");
    for (const char* k : {"descr", "fortran_order", "shape"})
      if (!seen[k]) return error(std::string("expected '") + k + "' key");
    return h;
  }

 private:
  Status error(const std::string& what) const {
    return Status::error(Location{file_, 0, 0}, "header: " + what);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool eat(char c) {
    if (peek() != c || pos_ >= s_.size()) return false;
    ++pos_;
    return true;
  }
  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' ||
                                s_[pos_] == '\r'))
      ++pos_;
  }

  StatusOr<std::string> parseString(const std::string& what) {
    char q = peek();
    if (q != '\'' && q != '"') return error("expected " + what + " (a quoted string)");
    ++pos_;
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\' || s_[pos_] == '\n') return error("unsupported character in a string");
      out += s_[pos_++];
    }
    if (!eat(q)) return error("unterminated string");
    return out;
  }

  StatusOr<bool> parseBool() {
    if (s_.substr(pos_, 4) == "True") { pos_ += 4; return true; }
    if (s_.substr(pos_, 5) == "False") { pos_ += 5; return false; }
    return error("expected True or False for 'fortran_order'");
  }

  StatusOr<int64_t> parseDim() {
    size_t start = pos_;
    int64_t v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      int d = s_[pos_] - '0';
      if (v > (std::numeric_limits<int64_t>::max() - d) / 10)
        return error("shape dimension is too large");
      v = v * 10 + d;
      ++pos_;
    }
    if (pos_ == start) {
      if (peek() == '-') return error("negative shape dimension");
      return error("expected a non-negative integer in 'shape'");
    }
    eat('L');  // Python 2 long literals, as very old numpy wrote them
    return v;
  }

  StatusOr<std::vector<int64_t>> parseShape() {
    if (!eat('(')) return error("expected a tuple for 'shape'");
    std::vector<int64_t> dims;
    skipSpace();
    if (eat(')')) return dims;
    while (true) {
      skipSpace();
      TRY_ASSIGN(int64_t d, parseDim());
      dims.push_back(d);
      skipSpace();
      if (eat(')')) break;
      if (!eat(',')) return error("expected ',' or ')' in 'shape'");
      skipSpace();
      if (eat(')')) break;  // `(3,)` and `(2, 3,)`
    }
    if (dims.size() > 64) return error("shape has more than 64 dimensions");
    return dims;
  }

  std::string_view s_;
  const std::string& file_;
  size_t pos_ = 0;
};

std::optional<ir::DType> dtypeOfDescr(const std::string& d) {
  if (d == "<f4") return ir::DType::F32;
  if (d == "<f8") return ir::DType::F64;
  if (d == "<f2") return ir::DType::F16;
  if (d == "<i4") return ir::DType::I32;
  if (d == "<i8") return ir::DType::I64;
  if (d == "|b1") return ir::DType::Bool;
  return std::nullopt;
}

uint32_t readLE(const unsigned char* p, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

template <typename T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // the host is little-endian, like the accepted dtypes
  return v;
}

template <typename T>
void store(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

}  // namespace

static_assert(std::endian::native == std::endian::little, ".npy code assumes a little-endian host");

const char* npyDescr(ir::DType t) {
  switch (t) {
    case ir::DType::F32: case ir::DType::BF16: return "<f4";
    case ir::DType::F64: return "<f8";
    case ir::DType::F16: return "<f2";
    case ir::DType::I32: return "<i4";
    case ir::DType::I64: return "<i8";
    case ir::DType::Bool: return "|b1";
  }
  return "?";
}

StatusOr<ir::Tensor> parseNpy(std::string_view bytes, const std::string& filename) {
  auto err = [&](const std::string& what) { return Status::error(Location{filename, 0, 0}, what); };
  if (bytes.size() < kMagicLen || bytes.substr(0, kMagicLen) != std::string_view(kMagic, kMagicLen))
    return err("not a .npy file (bad magic string; expected \\x93NUMPY)");
  if (bytes.size() < kMagicLen + 2) return err("truncated before the format version");
  auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  int major = u[6], minor = u[7];
  if (minor != 0 || major < 1 || major > 3)
    return err("unsupported .npy format version " + std::to_string(major) + "." +
               std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  int lenBytes = major == 1 ? 2 : 4;
  size_t prefix = kMagicLen + 2 + static_cast<size_t>(lenBytes);
  if (bytes.size() < prefix) return err("truncated before the header length");
  uint32_t headerLen = readLE(u + 8, lenBytes);
  if (headerLen > kMaxHeaderLen)
    return err("header length " + std::to_string(headerLen) + " exceeds the limit of " +
               std::to_string(kMaxHeaderLen) + " bytes");
  if (bytes.size() - prefix < headerLen)
    return err("truncated header: it declares " + std::to_string(headerLen) +
               " bytes but the file has " + std::to_string(bytes.size() - prefix) + " after the prefix");
  std::string_view text = bytes.substr(prefix, headerLen);
  // Versions 1 and 2 are latin-1 and 3 is UTF-8; the literals we accept are plain ASCII in both.
  for (char c : text)
    if (static_cast<unsigned char>(c) >= 0x80 || c == '\0')
      return err("header: non-ASCII or NUL byte in the header");
  if (text.empty() || text.back() != '\n') return err("header: does not end with a newline");

  TRY_ASSIGN(Header h, HeaderParser(text, filename).parse());
  if (h.fortranOrder)
    return err("fortran_order=True is not supported; save a C-ordered array "
               "(numpy.ascontiguousarray)");
  if (!h.descr.empty() && h.descr[0] == '>')
    return err("big-endian dtype '" + h.descr + "' is not supported; convert with "
               "arr.astype('<" + h.descr.substr(1) + "')");
  std::optional<ir::DType> dt = dtypeOfDescr(h.descr);
  if (!dt)
    return err("unsupported dtype '" + h.descr +
               "' (supported: <f4 <f8 <f2 <i4 <i8 |b1)");
  int64_t itemSize = ir::dtypeBytes(*dt);
  int64_t count = 1;
  const int64_t limit = std::numeric_limits<int64_t>::max() / itemSize;
  for (int64_t d : h.shape) {
    if (d != 0 && count > limit / d)
      return err("shape overflows: its element count times " + std::to_string(itemSize) +
                 " bytes does not fit in 64 bits");
    count *= d;
  }
  // Checked before allocating anything, so a huge declared shape costs nothing.
  uint64_t have = bytes.size() - prefix - headerLen;
  uint64_t want = static_cast<uint64_t>(count * itemSize);
  if (have < want)
    return err("truncated data: the shape needs " + std::to_string(want) + " bytes, the file has " +
               std::to_string(have));
  if (have > want)
    return err("the file has " + std::to_string(have - want) +
               " bytes after the data the shape describes");

  const char* p = bytes.data() + prefix + headerLen;
  std::vector<double> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i, p += itemSize) {
    switch (*dt) {
      case ir::DType::F32: values[i] = load<float>(p); break;
      case ir::DType::F64: values[i] = load<double>(p); break;
      case ir::DType::F16: values[i] = ir::halfBitsToFloat(load<uint16_t>(p)); break;
      case ir::DType::I32: values[i] = load<int32_t>(p); break;
      case ir::DType::I64: values[i] = static_cast<double>(load<int64_t>(p)); break;
      case ir::DType::Bool: {
        unsigned char b = static_cast<unsigned char>(*p);
        if (b > 1)
          return err("bool element " + std::to_string(i) + " has byte value " +
                     std::to_string(b) + " (expected 0 or 1)");
        values[i] = b;
        break;
      }
      case ir::DType::BF16: assert(false && "no numpy descr maps to bf16"); break;
    }
  }
  return ir::Tensor(*dt, h.shape, std::move(values));
}

StatusOr<ir::Tensor> readNpy(const std::string& path) {
  TRY_ASSIGN(std::string bytes, readFile(path));
  return parseNpy(bytes, path);
}

std::string encodeNpy(const ir::Tensor& t) {
  std::string dict = std::string("{'descr': '") + npyDescr(t.dtype()) +
                     "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.shape().size(); ++i) {
    if (i) dict += ", ";
    dict += std::to_string(t.shape()[i]);
  }
  if (t.shape().size() == 1) dict += ",";
  dict += "), }";
  // Pad with spaces and a final newline so magic + version + length + header is a multiple of 64.
  size_t unpadded = kMagicLen + 2 + 2 + dict.size() + 1;
  int major = 1;
  if (unpadded + 63 > 0xFFFF) {
    major = 2;
    unpadded += 2;
  }
  size_t total = (unpadded + 63) / 64 * 64;
  dict.append(total - unpadded, ' ');
  dict += '\n';

  std::string out(kMagic, kMagicLen);
  out += static_cast<char>(major);
  out += '\0';
  if (major == 1) store<uint16_t>(out, static_cast<uint16_t>(dict.size()));
  else store<uint32_t>(out, static_cast<uint32_t>(dict.size()));
  out += dict;
  out.reserve(out.size() + t.data().size() * 8);
  for (double v : t.data()) {
    switch (t.dtype()) {
      case ir::DType::F32: case ir::DType::BF16: store<float>(out, static_cast<float>(v)); break;
      case ir::DType::F64: store<double>(out, v); break;
      case ir::DType::F16: store<uint16_t>(out, ir::floatToHalfBits(static_cast<float>(v))); break;
      case ir::DType::I32: store<int32_t>(out, static_cast<int32_t>(v)); break;
      case ir::DType::I64: store<int64_t>(out, static_cast<int64_t>(v)); break;
      case ir::DType::Bool: out += static_cast<char>(v != 0 ? 1 : 0); break;
    }
  }
  return out;
}

Status writeNpy(const std::string& path, const ir::Tensor& t) {
  return writeFileAtomically(path, encodeNpy(t));
}

}  // namespace tessera::launcher
