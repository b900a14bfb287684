// .npy reading and writing: round trips of every dtype, files written by hand the way numpy
// writes them (all three format versions), and every kind of malformed file.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "launcher/FileUtil.h"
#include "launcher/Npy.h"

namespace tessera::launcher {
namespace {

using ir::DType;
using ir::Tensor;

// A .npy file assembled by hand: magic, version, little-endian header length, header (padded
// with spaces and a newline to a 64-byte boundary, as numpy does), data.
std::string makeNpy(int major, const std::string& dict, const std::string& data, bool pad = true) {
  std::string header = dict;
  size_t lenBytes = major == 1 ? 2 : 4;
  if (pad) {
    size_t unpadded = 8 + lenBytes + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
  }
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < lenBytes; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + data;
}

template <typename T>
std::string bytesOf(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.append(b, sizeof(T));
  }
  return out;
}

std::string errorOf(std::string_view bytes) {
  auto r = parseNpy(bytes, "x.npy");
  EXPECT_FALSE(r.isOk()) << "expected a parse error";
  return r.isOk() ? "" : r.status().message();
}

TEST(Npy, RoundTripsEveryDType) {
  struct Case {
    DType dtype;
    std::vector<double> values;
  };
  std::vector<Case> cases = {
      {DType::F32, {1.5, -0.0, 3.4028234663852886e38, std::ldexp(1.0, -149), INFINITY}},
      {DType::F64, {0.1, -1e300, 5e-324, -INFINITY, 2.5}},
      {DType::F16, {1.5, 65504, -0.000060975551605224609375, 0.333251953125, -2}},
      {DType::BF16, {1.5, -3.140625, std::ldexp(1.0, 100), 0.0078125, 256}},
      {DType::I32, {-2147483648.0, 2147483647, 0, -1, 42}},
      {DType::I64, {-9007199254740992.0, 9007199254740992.0, 0, -1, 1099511627776.0}},
      {DType::Bool, {1, 0, 0, 1, 1}},
  };
  for (const Case& c : cases) {
    Tensor t(c.dtype, {5}, c.values);
    ASSERT_EQ(t.data(), c.values) << ir::dtypeName(c.dtype) << ": test values must be exact";
    auto back = parseNpy(encodeNpy(t), "rt.npy");
    ASSERT_TRUE(back.isOk()) << back.status().message();
    // bf16 has no numpy dtype and travels as f32, which holds every bf16 value exactly.
    DType want = c.dtype == DType::BF16 ? DType::F32 : c.dtype;
    EXPECT_EQ(back->dtype(), want) << ir::dtypeName(c.dtype);
    EXPECT_EQ(back->shape(), std::vector<int64_t>{5});
    EXPECT_EQ(back->data(), c.values) << ir::dtypeName(c.dtype);
    EXPECT_EQ(std::signbit((*back)[1]), std::signbit(c.values[1]));
  }
  Tensor nan(DType::F32, {1}, {NAN});
  auto nanBack = parseNpy(encodeNpy(nan), "nan.npy");
  ASSERT_TRUE(nanBack.isOk());
  EXPECT_TRUE(std::isnan((*nanBack)[0]));
}

TEST(Npy, RoundTripsShapes) {
  for (std::vector<int64_t> shape : std::vector<std::vector<int64_t>>{
           {}, {3}, {2, 3}, {0}, {2, 0, 3}, {1, 1, 1, 1, 2}}) {
    int64_t n = ir::numElementsOf(shape);
    std::vector<double> values;
    for (int64_t i = 0; i < n; ++i) values.push_back(static_cast<double>(i) - 1);
    Tensor t(DType::I32, shape, values);
    auto back = parseNpy(encodeNpy(t), "s.npy");
    ASSERT_TRUE(back.isOk()) << back.status().message();
    EXPECT_EQ(*back, t);
  }
}

TEST(Npy, EncodesTheHeaderNumpyWrites) {
  Tensor t(DType::F32, {2, 3}, {1.5, 2, 3, 4, 5, -1});
  std::string bytes = encodeNpy(t);
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  // 10 prefix bytes + 59 dict bytes + '\n' = 70 > 64, so the data starts at 128: the header
  // length field says 118 and the padding is 58 spaces.
  ASSERT_EQ(dict.size(), 59u);
  ASSERT_EQ(bytes.size(), 128u + 6 * 4);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(static_cast<unsigned char>(bytes[8]) + 256 * static_cast<unsigned char>(bytes[9]), 118);
  EXPECT_EQ(bytes.substr(10, 59), dict);
  EXPECT_EQ(bytes.substr(69, 58), std::string(58, ' '));
  EXPECT_EQ(bytes[127], '\n');
  EXPECT_EQ(bytes.substr(128, 4), std::string("\x00\x00\xc0\x3f", 4));  // 1.5f little-endian
  EXPECT_EQ(bytes.substr(148, 4), std::string("\x00\x00\x80\xbf", 4));  // -1.0f

  std::string scalar = encodeNpy(Tensor::scalar(DType::F64, 2));
  EXPECT_NE(scalar.find("'shape': (), }"), std::string::npos);
  std::string vec = encodeNpy(Tensor(DType::Bool, {3}, {1, 0, 1}));
  EXPECT_NE(vec.find("'descr': '|b1'"), std::string::npos);
  EXPECT_NE(vec.find("'shape': (3,), }"), std::string::npos);
  EXPECT_EQ(vec.substr(vec.size() - 3), std::string("\x01\x00\x01", 3));
}

TEST(Npy, ReadsHandWrittenFilesOfEveryVersion) {
  std::string data = bytesOf<int64_t>({7, -8, 9});
  for (int major : {1, 2, 3}) {
    auto t = parseNpy(makeNpy(major, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                              data),
                      "v.npy");
    ASSERT_TRUE(t.isOk()) << "version " << major << ": " << t.status().message();
    EXPECT_EQ(*t, Tensor(DType::I64, {3}, {7, -8, 9}));
  }
  // Other spellings a Python dict literal allows: key order, double quotes, no trailing comma,
  // no padding, tuple with a trailing comma, Python 2 long suffixes.
  auto t = parseNpy(makeNpy(1, "{\"shape\": (1, 2,), \"fortran_order\": False, \"descr\": \"<f2\"}",
                            bytesOf<uint16_t>({0x3C00, 0xC000}), /*pad=*/false),
                    "w.npy");
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(*t, Tensor(DType::F16, {1, 2}, {1, -2}));
  auto l = parseNpy(makeNpy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2L,), }",
                            bytesOf<int32_t>({5, 6})),
                    "l.npy");
  ASSERT_TRUE(l.isOk()) << l.status().message();
  EXPECT_EQ(*l, Tensor(DType::I32, {2}, {5, 6}));
  auto s = parseNpy(makeNpy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': ()}",
                            bytesOf<double>({-0.25})),
                    "s.npy");
  ASSERT_TRUE(s.isOk()) << s.status().message();
  EXPECT_EQ(*s, Tensor::scalar(DType::F64, -0.25));
}

TEST(Npy, EveryTruncationOfAValidFileIsACleanError) {
  std::string good = encodeNpy(Tensor(DType::F32, {2, 2}, {1, 2, 3, 4}));
  ASSERT_TRUE(parseNpy(good, "x.npy").isOk());
  for (size_t n = 0; n < good.size(); ++n) {
    auto r = parseNpy(std::string_view(good).substr(0, n), "x.npy");
    ASSERT_FALSE(r.isOk()) << "a file cut to " << n << " bytes was accepted";
    EXPECT_EQ(r.status().message().rfind("x.npy: error: ", 0), 0u) << r.status().message();
  }
  EXPECT_NE(errorOf(good.substr(0, good.size() - 1)).find("truncated data"), std::string::npos);
  EXPECT_NE(errorOf(good.substr(0, 20)).find("truncated header"), std::string::npos);
  EXPECT_NE(errorOf(good + "x").find("1 bytes after the data"), std::string::npos);
}

TEST(Npy, RejectsBadPrefixes) {
  EXPECT_NE(errorOf("PK\x03\x04 not numpy at all").find("bad magic"), std::string::npos);
  EXPECT_NE(errorOf("").find("bad magic"), std::string::npos);
  std::string v4 = makeNpy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
                           bytesOf<float>({1}));
  v4[6] = 4;
  EXPECT_NE(errorOf(v4).find("unsupported .npy format version 4.0"), std::string::npos);
  v4[6] = 1;
  v4[7] = 1;
  EXPECT_NE(errorOf(v4).find("version 1.1"), std::string::npos);
  // A version-2 length field of 4 GiB - 1: rejected before anything is read or allocated.
  std::string huge = std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12) + "{}";
  EXPECT_NE(errorOf(huge).find("exceeds the limit"), std::string::npos);
}

TEST(Npy, RejectsMalformedHeaderDicts) {
  struct Case {
    const char* dict;
    const char* message;
  };
  const Case cases[] = {
      {"{'descr': '<f4', 'fortran_order': False}", "header: expected 'shape' key"},
      {"{'shape': (), 'fortran_order': False}", "header: expected 'descr' key"},
      {"{'descr': '<f4', 'shape': ()}", "header: expected 'fortran_order' key"},
      {"['descr', '<f4']", "expected '{'"},
      {"{'descr' '<f4', 'fortran_order': False, 'shape': ()}", "expected ':' after key 'descr'"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': ()}", "expected ',' or '}'"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': ()}", "header:"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (), 'extra': 1}", "unexpected key 'extra'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", "duplicate key"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': ()}", "expected True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", "expected a tuple for 'shape'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "negative shape dimension"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", "expected ',' or ')'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "too large"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}", "structured dtypes"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': ()} junk", "after the closing '}'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (", "header:"},
  };
  for (const Case& c : cases) {
    std::string msg = errorOf(makeNpy(1, c.dict, ""));
    EXPECT_NE(msg.find(c.message), std::string::npos) << c.dict << "\n -> " << msg;
    EXPECT_EQ(msg.rfind("x.npy: error: ", 0), 0u) << msg;
  }
  std::string noNewline = makeNpy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}",
                                  bytesOf<float>({1}));
  noNewline[noNewline.size() - 5] = ' ';
  EXPECT_NE(errorOf(noNewline).find("does not end with a newline"), std::string::npos);
}

TEST(Npy, RejectsUnsupportedLayoutsAndTypes) {
  auto file = [](const std::string& descr, const std::string& fortran, const std::string& data) {
    return makeNpy(1, "{'descr': '" + descr + "', 'fortran_order': " + fortran +
                          ", 'shape': (2,), }",
                   data);
  };
  EXPECT_NE(errorOf(file("<f4", "True", bytesOf<float>({1, 2}))).find("fortran_order=True"),
            std::string::npos);
  std::string be = errorOf(file(">f4", "False", bytesOf<float>({1, 2})));
  EXPECT_NE(be.find("big-endian dtype '>f4'"), std::string::npos) << be;
  EXPECT_NE(be.find("astype('<f4')"), std::string::npos) << be;
  for (const char* d : {"|u1", "<u4", "<c8", "|i1", "<U3", "|V2", "bogus"})
    EXPECT_NE(errorOf(file(d, "False", "xxxxxxxx")).find(std::string("unsupported dtype '") + d),
              std::string::npos)
        << d;
  std::string badBool = file("|b1", "False", std::string("\x01\x02", 2));
  EXPECT_NE(errorOf(badBool).find("bool element 1 has byte value 2"), std::string::npos);
}

TEST(Npy, RejectsShapesWhoseSizeOverflows) {
  for (const char* shape : {"(4294967296, 4294967296)", "(9223372036854775807,)",
                            "(3074457345618258602, 3)"}) {
    std::string msg = errorOf(makeNpy(
        1, std::string("{'descr': '<f4', 'fortran_order': False, 'shape': ") + shape + ", }", ""));
    EXPECT_NE(msg.find("shape overflows"), std::string::npos) << shape << " -> " << msg;
  }
  // Large but representable: the data-length check catches it without allocating.
  std::string msg = errorOf(
      makeNpy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }", ""));
  EXPECT_NE(msg.find("truncated data: the shape needs 8000000000000 bytes"), std::string::npos)
      << msg;
  // A zero dimension makes the array empty whatever the others are.
  auto empty = parseNpy(
      makeNpy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 9223372036854775807), }",
              ""),
      "e.npy");
  ASSERT_TRUE(empty.isOk()) << empty.status().message();
  EXPECT_EQ(empty->numElements(), 0);
}

class NpyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tessera-npy-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(NpyFiles, WritesAtomicallyAndReadsBack) {
  std::string path = dir_ + "/a.npy";
  Tensor t(DType::F64, {2}, {0.5, -7});
  ASSERT_TRUE(writeNpy(path, t).isOk());
  Tensor u(DType::I32, {3}, {1, 2, 3});
  ASSERT_TRUE(writeNpy(path, u).isOk());  // replaces the file
  auto back = readNpy(path);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ(*back, u);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1) << "no temporary file may be left behind";
}

TEST_F(NpyFiles, FailedWriteLeavesNothingAndNamesThePath) {
  std::string path = dir_ + "/no-such-dir/a.npy";
  Status st = writeNpy(path, Tensor(DType::F32, {1}, {1}));
  ASSERT_FALSE(st.isOk());
  EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
  EXPECT_FALSE(std::filesystem::exists(path));
  auto missing = readNpy(dir_ + "/absent.npy");
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("absent.npy: error: cannot open"), std::string::npos)
      << missing.status().message();
}

}  // namespace
}  // namespace tessera::launcher
