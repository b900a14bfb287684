// The disk cache of compiled kernels: a second compiler on the same directory compiles nothing,
// corrupt or truncated entries are recompiled and replaced, an unusable directory gives one warning
// and the compiler keeps working without it.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "codegen/kernel/KernelCompiler.h"
#include "codegen/kernel/KernelEvaluator.h"
#include "tests/unit/kernels/KernelTestUtil.h"

namespace tessera::codegen {
namespace {

namespace fs = std::filesystem;
using testing::Call;
using testing::KB;
constexpr ScalarType F32 = ScalarType::F32;

KernelCompilerOptions opts(const std::string& dir, const std::string& cpu = "") {
  KernelCompilerOptions o;
  o.cacheDir = dir;
  o.cpuOverride = cpu;
  return o;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tessera-kcache-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Two distinct kernels: y = x * c + 1 for two constants.
std::vector<KernelDesc> kernels() {
  std::vector<KernelDesc> ks;
  for (double c : {2.0, 3.0}) {
    KB b(1, ("affine_" + std::to_string(int(c))).c_str());
    int x = b.in(F32), y = b.out(F32);
    b.store(y, b.bin(BinaryFn::Add, b.bin(BinaryFn::Mul, b.load(x), b.cnst(F32, c)),
                     b.cnst(F32, 1.0)));
    ks.push_back(b.done());
  }
  return ks;
}

// The compiled functions compute y = x * c + 1 exactly.
void expectWorks(const std::vector<KernelFn>& fns) {
  ASSERT_EQ(fns.size(), 2u);
  for (int k = 0; k < 2; ++k) {
    std::vector<float> x(21), y(21, -1);
    for (int i = 0; i < 21; ++i) x[i] = 0.37f * i - 3;
    Call c{{x.data(), y.data()}, {3}, {7, 1, 7, 1}, 7};
    KernelArgs a = c.args();
    fns[k](&a, 0, 3);
    float cst = k == 0 ? 2.0f : 3.0f;
    for (int i = 0; i < 21; ++i) EXPECT_EQ(y[i], x[i] * cst + 1.0f);
  }
}

std::vector<fs::path> cacheFiles(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".tko") files.push_back(e.path());
  return files;
}

TEST(KernelCache, SecondCompilerLoadsFromDiskAndCompilesNothing) {
  TempDir dir;
  {
    auto c = KernelCompiler::create(opts(dir.path.string()));
    ASSERT_TRUE(c.isOk()) << c.status().message();
    auto fns = (*c)->compile(kernels());
    ASSERT_TRUE(fns.isOk()) << fns.status().message();
    expectWorks(*fns);
    EXPECT_EQ((*c)->stats().compiled, 2);
    EXPECT_EQ((*c)->stats().diskHits, 0);
    EXPECT_TRUE((*c)->stats().warnings.empty());
  }
  EXPECT_EQ(cacheFiles(dir.path).size(), 2u);
  auto c = KernelCompiler::create(opts(dir.path.string()));
  ASSERT_TRUE(c.isOk());
  auto fns = (*c)->compile(kernels());
  ASSERT_TRUE(fns.isOk()) << fns.status().message();
  expectWorks(*fns);
  EXPECT_EQ((*c)->stats().compiled, 0);
  EXPECT_EQ((*c)->stats().diskHits, 2);
  // A different target is a different key: nothing is shared with the host entries.
  auto other = KernelCompiler::create(opts(dir.path.string(), "x86-64"));
  ASSERT_TRUE(other.isOk());
  ASSERT_TRUE((*other)->compile(kernels()).isOk());
  EXPECT_EQ((*other)->stats().compiled, 2);
  EXPECT_EQ(cacheFiles(dir.path).size(), 4u);
}

TEST(KernelCache, CorruptAndTruncatedEntriesAreRecompiledAndReplaced) {
  TempDir dir;
  {
    auto c = KernelCompiler::create(opts(dir.path.string()));
    ASSERT_TRUE(c.isOk());
    ASSERT_TRUE((*c)->compile(kernels()).isOk());
  }
  auto files = cacheFiles(dir.path);
  ASSERT_EQ(files.size(), 2u);
  {  // flip one byte in the middle of the first, truncate the second
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(fs::file_size(files[0]) / 2));
    char ch;
    f.read(&ch, 1);
    ch = static_cast<char>(ch ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(fs::file_size(files[0]) / 2));
    f.write(&ch, 1);
  }
  fs::resize_file(files[1], fs::file_size(files[1]) / 3);
  {
    auto c = KernelCompiler::create(opts(dir.path.string()));
    ASSERT_TRUE(c.isOk());
    auto fns = (*c)->compile(kernels());
    ASSERT_TRUE(fns.isOk()) << fns.status().message();
    expectWorks(*fns);
    EXPECT_EQ((*c)->stats().compiled, 2);
    EXPECT_EQ((*c)->stats().corruptCacheEntries, 2);
    EXPECT_EQ((*c)->stats().diskHits, 0);
  }
  auto c = KernelCompiler::create(opts(dir.path.string()));
  ASSERT_TRUE(c.isOk());
  auto fns = (*c)->compile(kernels());
  ASSERT_TRUE(fns.isOk());
  expectWorks(*fns);
  EXPECT_EQ((*c)->stats().diskHits, 2);
  EXPECT_EQ((*c)->stats().compiled, 0);
}

TEST(KernelCache, UnusableDirectoryWarnsOnceAndCarriesOn) {
  TempDir dir;
  fs::path file = dir.path / "not-a-dir";
  std::ofstream(file) << "x";
  auto c = KernelCompiler::create(opts((file / "kernels").string()));
  ASSERT_TRUE(c.isOk());
  auto fns = (*c)->compile(kernels());
  ASSERT_TRUE(fns.isOk()) << fns.status().message();
  expectWorks(*fns);
  EXPECT_EQ((*c)->stats().compiled, 2);
  ASSERT_EQ((*c)->stats().warnings.size(), 1u);
  EXPECT_NE((*c)->stats().warnings[0].find("not-a-dir"), std::string::npos)
      << (*c)->stats().warnings[0];
}

TEST(KernelCache, DefaultDirectoryFollowsTheEnvironment) {
  const char* old = std::getenv("TESSERA_CACHE_DIR");
  std::string saved = old ? old : "";
  ::setenv("TESSERA_CACHE_DIR", "/some/where", 1);
  EXPECT_EQ(defaultKernelCacheDir(), "/some/where");
  ::unsetenv("TESSERA_CACHE_DIR");
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  std::string savedXdg = xdg ? xdg : "";
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(defaultKernelCacheDir(), "/xdg/tessera/kernels");
  if (savedXdg.empty()) ::unsetenv("XDG_CACHE_HOME");
  else ::setenv("XDG_CACHE_HOME", savedXdg.c_str(), 1);
  if (!saved.empty()) ::setenv("TESSERA_CACHE_DIR", saved.c_str(), 1);
}

}  // namespace
}  // namespace tessera::codegen
