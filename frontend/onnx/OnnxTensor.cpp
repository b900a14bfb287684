// TensorProto decoding with untrusted-input checks (see OnnxTensor.h).
//
// The element count is checked before any allocation, and each storage field is checked against
// it, so a file claiming a [2^40, 2^40] tensor with eight bytes of data is an error naming the
// tensor, never a huge allocation or an out-of-bounds read.
#include "frontend/onnx/OnnxTensor.h"

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace tessera::frontend::onnximport {

namespace fs = std::filesystem;
using onnx::TensorProto;

static_assert(std::endian::native == std::endian::little,
              "raw_data is little-endian; a big-endian host needs byte swapping here");

namespace {

Status err(const std::string& file, const std::string& msg) {
  return Status::error(Location{file, 0, 0}, msg);
}

Status unsupported(const std::string& file, const std::string& msg) {
  return Status::error(Location{file, 0, 0}, std::string(kUnsupportedTag) + msg);
}

std::string dimsStr(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

// Storage size of one element in raw_data, for the types Tessera decodes.
int rawElementBytes(int32_t t) {
  switch (t) {
    case TensorProto::FLOAT: return 4;
    case TensorProto::DOUBLE: return 8;
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16: return 2;
    case TensorProto::INT32: return 4;
    case TensorProto::INT64: return 8;
    case TensorProto::BOOL: return 1;
    default: return 0;
  }
}

template <typename T>
T loadLE(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Decodes packed little-endian bytes (raw_data or an external file's bytes).
void decodeRaw(const char* bytes, int64_t n, int32_t t, std::vector<double>& out,
               std::vector<int64_t>& ints) {
  out.resize(n);
  bool isInt = t == TensorProto::INT32 || t == TensorProto::INT64 || t == TensorProto::BOOL;
  if (isInt) ints.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    switch (t) {
      case TensorProto::FLOAT: out[i] = loadLE<float>(bytes + 4 * i); break;
      case TensorProto::DOUBLE: out[i] = loadLE<double>(bytes + 8 * i); break;
      case TensorProto::FLOAT16: out[i] = ir::halfBitsToFloat(loadLE<uint16_t>(bytes + 2 * i)); break;
      case TensorProto::BFLOAT16: out[i] = ir::bf16BitsToFloat(loadLE<uint16_t>(bytes + 2 * i)); break;
      case TensorProto::INT32: ints[i] = loadLE<int32_t>(bytes + 4 * i); break;
      case TensorProto::INT64: ints[i] = loadLE<int64_t>(bytes + 8 * i); break;
      case TensorProto::BOOL: ints[i] = bytes[i] != 0 ? 1 : 0; break;
      default: break;
    }
    if (isInt) out[i] = static_cast<double>(ints[i]);
  }
}

// Parses a non-negative decimal integer ("offset"/"length" values), overflow-safe.
std::optional<int64_t> parseCount(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

StatusOr<std::string> readExternal(const TensorProto& t, int64_t expectedBytes,
                                   const std::string& what, const std::string& file,
                                   const std::string& baseDir) {
  std::string location;
  int64_t offset = 0;
  std::optional<int64_t> length;
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset" || kv.key() == "length") {
      std::optional<int64_t> v = parseCount(kv.value());
      if (!v)
        return err(file, what + ": external_data " + kv.key() + " '" + kv.value() +
                             "' is not a non-negative integer");
      if (kv.key() == "offset") offset = *v;
      else length = *v;
    }
  }
  if (location.empty()) return err(file, what + ": external data without a 'location'");
  if (baseDir.empty())
    return err(file, what + ": external data is not allowed here (no model folder)");
  TRY_ASSIGN(std::string path, confineExternalPath(location, baseDir, what, file));
  if (length && *length != expectedBytes)
    return err(file, what + ": external_data length " + std::to_string(*length) +
                         " does not match the " + std::to_string(expectedBytes) +
                         " bytes its dims and data_type need");
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return err(file, what + ": cannot read external data file '" + location + "': " +
                                ec.message());
  if (offset > static_cast<int64_t>(size) ||
      static_cast<int64_t>(size) - offset < expectedBytes)
    return err(file, what + ": external data file '" + location + "' has " +
                         std::to_string(size) + " bytes, too few for " +
                         std::to_string(expectedBytes) + " bytes at offset " +
                         std::to_string(offset));
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<size_t>(expectedBytes), '\0');
  in.seekg(offset);
  in.read(bytes.data(), expectedBytes);
  if (!in) return err(file, what + ": cannot read external data file '" + location + "'");
  return bytes;
}

}  // namespace

std::optional<ir::DType> dtypeFromOnnx(int32_t onnxType) {
  switch (onnxType) {
    case TensorProto::FLOAT: return ir::DType::F32;
    case TensorProto::DOUBLE: return ir::DType::F64;
    case TensorProto::FLOAT16: return ir::DType::F16;
    case TensorProto::BFLOAT16: return ir::DType::BF16;
    case TensorProto::INT32: return ir::DType::I32;
    case TensorProto::INT64: return ir::DType::I64;
    case TensorProto::BOOL: return ir::DType::Bool;
    default: return std::nullopt;
  }
}

std::string onnxTypeName(int32_t onnxType) {
  if (TensorProto::DataType_IsValid(onnxType))
    return TensorProto::DataType_Name(static_cast<TensorProto::DataType>(onnxType));
  return "data_type " + std::to_string(onnxType);
}

StatusOr<int64_t> checkedElementCount(const std::vector<int64_t>& dims, const std::string& what,
                                      const std::string& file) {
  if (static_cast<int>(dims.size()) > kMaxRank)
    return err(file, what + ": rank " + std::to_string(dims.size()) + " exceeds the limit of " +
                         std::to_string(kMaxRank));
  int64_t n = 1;
  bool overflow = false;
  for (int64_t d : dims) {
    if (d < 0) return err(file, what + ": negative dim " + std::to_string(d));
    if (__builtin_mul_overflow(n, d, &n)) overflow = true;
  }
  // A zero dim makes the count 0 even if an earlier product overflowed; still refuse those dims.
  if (overflow || n > kMaxTensorElements)
    return err(file, what + ": " + std::to_string(dims.size()) +
                         "-d tensor is too large (the element count overflows or exceeds " +
                         std::to_string(kMaxTensorElements) + ")");
  return n;
}

StatusOr<std::string> confineExternalPath(const std::string& location, const std::string& baseDir,
                                          const std::string& what, const std::string& file) {
  if (location.find('\0') != std::string::npos || location.find('\\') != std::string::npos)
    return err(file, what + ": external data location '" + location +
                         "' has a NUL or backslash character");
  fs::path rel(location);
  if (rel.is_absolute() || location.front() == '/')
    return err(file, what + ": external data location '" + location +
                         "' is an absolute path; it must be relative to the model's folder");
  for (const fs::path& part : rel)
    if (part == "..")
      return err(file, what + ": external data location '" + location +
                           "' escapes the model's folder with '..'");
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::path(baseDir.empty() ? "." : baseDir), ec);
  if (ec) return err(file, what + ": cannot resolve the model's folder: " + ec.message());
  fs::path full = fs::weakly_canonical(base / rel, ec);
  if (ec) return err(file, what + ": cannot resolve external data '" + location + "': " +
                                ec.message());
  // A symlink inside the folder may still point outside it: compare the resolved paths.
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (b != base.end())
    return err(file, what + ": external data location '" + location +
                         "' resolves outside the model's folder");
  return full.string();
}

StatusOr<DecodedTensor> decodeTensor(const TensorProto& t, const std::string& what,
                                     const std::string& file, const std::string& baseDir) {
  int32_t type = t.data_type();
  std::optional<ir::DType> dtype = dtypeFromOnnx(type);
  if (!dtype) {
    if (type == TensorProto::UNDEFINED) return err(file, what + ": data_type is not set");
    return unsupported(file, what + ": element type " + onnxTypeName(type) +
                                 " has no Tessera counterpart (supported: FLOAT, DOUBLE, "
                                 "FLOAT16, BFLOAT16, INT32, INT64, BOOL)");
  }
  if (t.has_segment()) return unsupported(file, what + ": segmented tensors are not supported");
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  TRY_ASSIGN(int64_t n, checkedElementCount(dims, what, file));
  int elemBytes = rawElementBytes(type);
  int64_t expectedBytes = n * elemBytes;  // n <= 2^28, elemBytes <= 8: no overflow

  DecodedTensor out;
  std::vector<double> values;
  std::vector<int64_t>& ints = out.ints;
  bool isInt = !ir::isFloat(*dtype);

  if (t.data_location() == TensorProto::EXTERNAL) {
    TRY_ASSIGN(std::string bytes, readExternal(t, expectedBytes, what, file, baseDir));
    decodeRaw(bytes.data(), n, type, values, ints);
  } else if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    if (static_cast<int64_t>(raw.size()) != expectedBytes)
      return err(file, what + ": raw_data has " + std::to_string(raw.size()) + " bytes but dims " +
                           dimsStr(dims) + " of " + onnxTypeName(type) +
                           " need " + std::to_string(expectedBytes));
    decodeRaw(raw.data(), n, type, values, ints);
  } else {
    // The typed field for this data_type, per onnx.proto.
    auto check = [&](int64_t have, const char* field) -> Status {
      if (have != n)
        return err(file, what + ": " + field + " has " + std::to_string(have) +
                             " elements but dims need " + std::to_string(n));
      return Status::ok();
    };
    values.resize(n);
    if (isInt) ints.resize(n);
    switch (type) {
      case TensorProto::FLOAT:
        TRY(check(t.float_data_size(), "float_data"));
        for (int64_t i = 0; i < n; ++i) values[i] = t.float_data(i);
        break;
      case TensorProto::DOUBLE:
        TRY(check(t.double_data_size(), "double_data"));
        for (int64_t i = 0; i < n; ++i) values[i] = t.double_data(i);
        break;
      case TensorProto::INT64:
        TRY(check(t.int64_data_size(), "int64_data"));
        for (int64_t i = 0; i < n; ++i) ints[i] = t.int64_data(i);
        break;
      case TensorProto::INT32:
        TRY(check(t.int32_data_size(), "int32_data"));
        for (int64_t i = 0; i < n; ++i) ints[i] = t.int32_data(i);
        break;
      case TensorProto::BOOL:
        TRY(check(t.int32_data_size(), "int32_data"));
        for (int64_t i = 0; i < n; ++i) ints[i] = t.int32_data(i) != 0 ? 1 : 0;
        break;
      case TensorProto::FLOAT16:
      case TensorProto::BFLOAT16:
        TRY(check(t.int32_data_size(), "int32_data"));
        for (int64_t i = 0; i < n; ++i) {
          auto bits = static_cast<uint16_t>(t.int32_data(i));
          values[i] = type == TensorProto::FLOAT16 ? ir::halfBitsToFloat(bits)
                                                   : ir::bf16BitsToFloat(bits);
        }
        break;
      default: break;
    }
    if (isInt)
      for (int64_t i = 0; i < n; ++i) values[i] = static_cast<double>(ints[i]);
  }
  // int32 values outside the int32 range wrap like the C cast the ONNX runtime would do.
  if (*dtype == ir::DType::I32)
    for (int64_t& v : ints) v = static_cast<int32_t>(v);
  out.tensor = ir::Tensor(*dtype, dims, std::move(values));
  return out;
}

}  // namespace tessera::frontend::onnximport
