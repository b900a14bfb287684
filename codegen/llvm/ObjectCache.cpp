// The kernel object cache on disk (see ObjectCache.h). File layout: 8-byte magic, then three
// little-endian u64 — xxHash64 of the key (guards against a file-name collision), the object size,
// xxHash64 of the object — then the object bytes.
#include "codegen/llvm/ObjectCache.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MD5.h"
#include "llvm/Support/xxhash.h"

namespace tessera::codegen::llvmgen {

namespace {

constexpr char kMagic[8] = {'T', 'S', 'K', 'O', 'B', 'J', '0', '1'};
constexpr size_t kHeaderBytes = 8 + 3 * 8;

uint64_t hash64(const char* p, size_t n) { return llvm::xxHash64(llvm::StringRef(p, n)); }

void putU64(std::vector<char>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t getU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

}  // namespace

ObjectCache::ObjectCache(std::string dir) : dir_(std::move(dir)) {}

std::string ObjectCache::digest(const std::string& key) {
  llvm::MD5 md5;
  md5.update(key);
  llvm::MD5::MD5Result r;
  md5.final(r);
  return std::string(r.digest().str());
}

std::string ObjectCache::pathFor(const std::string& key) const {
  return dir_ + "/" + digest(key) + ".tko";
}

ObjectCache::Lookup ObjectCache::load(const std::string& key, std::vector<char>& object) const {
  if (dir_.empty()) return Lookup::Miss;
  std::ifstream f(pathFor(key), std::ios::binary);
  if (!f) return Lookup::Miss;
  std::vector<char> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (data.size() < kHeaderBytes || std::memcmp(data.data(), kMagic, 8) != 0) return Lookup::Corrupt;
  uint64_t keyHash = getU64(data.data() + 8);
  uint64_t size = getU64(data.data() + 16);
  uint64_t sum = getU64(data.data() + 24);
  if (keyHash != hash64(key.data(), key.size()) || size != data.size() - kHeaderBytes ||
      sum != hash64(data.data() + kHeaderBytes, size))
    return Lookup::Corrupt;
  object.assign(data.begin() + kHeaderBytes, data.end());
  return Lookup::Hit;
}

std::optional<std::string> ObjectCache::store(const std::string& key,
                                              const std::vector<char>& object) {
  if (!enabled()) return std::nullopt;
  auto fail = [&](const std::string& why) -> std::optional<std::string> {
    writable_ = false;
    return "kernel cache '" + dir_ + "' is not usable (" + why + "); running without the disk cache";
  };
  if (!dirCreated_) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) return fail(ec.message());
    dirCreated_ = true;
  }
  std::vector<char> data(kMagic, kMagic + 8);
  putU64(data, hash64(key.data(), key.size()));
  putU64(data, object.size());
  putU64(data, hash64(object.data(), object.size()));
  data.insert(data.end(), object.begin(), object.end());

  static std::atomic<uint64_t> counter{0};
  std::string final = pathFor(key);
  std::string tmp = final + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return fail(std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      std::string why = w < 0 ? std::strerror(errno) : "short write";
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail(why);
    }
    done += static_cast<size_t>(w);
  }
  if (::close(fd) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return fail(why);
  }
  if (::rename(tmp.c_str(), final.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return fail(why);
  }
  return std::nullopt;
}

}  // namespace tessera::codegen::llvmgen
