// Fuzz-style tests of the reader: every truncation and deterministic byte flips of a valid
// serialized module, plus random garbage. Each input must give a clean error naming the file, or
// a module that the verifier and the writer can process; never a crash, a hang or a huge
// allocation. The address space is capped so that an absurd allocation fails loudly
// (std::bad_alloc ends the test) instead of swapping the machine.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <random>

#include "ir/ProtoSerializer.h"
#include "ir/Verifier.h"
#include "tests/unit/proto/TestModules.h"

namespace tessera::ir {
namespace {

class ProtoFuzz : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rlimit lim{};
    if (getrlimit(RLIMIT_AS, &lim) == 0) {
      rlim_t cap = rlim_t{4} << 30;
      if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > cap) {
        lim.rlim_cur = cap;
        setrlimit(RLIMIT_AS, &lim);
      }
    }
  }

  // Returns true if the input was accepted.
  static bool feed(std::string_view bytes) {
    auto m = deserializeModule(bytes, "fuzz.tpb");
    if (!m.isOk()) {
      const std::string& msg = m.status().message();
      EXPECT_EQ(msg.rfind("error: fuzz.tpb: ", 0), 0u) << msg;
      return false;
    }
    // Whatever was accepted must be safe to verify and to write again.
    Status st = verifyModule(**m);
    if (!st) {
      EXPECT_NE(st.message().find("error: "), std::string::npos) << st.message();
    }
    auto again = serializeModule(**m);
    (void)again;
    return true;
  }

  static std::string rich() {
    auto m = testing::buildRichModule();
    auto bytes = serializeModule(*m);
    EXPECT_TRUE(bytes.isOk());
    return bytes.isOk() ? *bytes : std::string();
  }
};

TEST_F(ProtoFuzz, EveryTruncation) {
  std::string bytes = rich();
  ASSERT_GT(bytes.size(), 500u);
  int rejected = 0;
  for (size_t n = 0; n < bytes.size(); ++n)
    if (!feed(std::string_view(bytes).substr(0, n))) ++rejected;
  EXPECT_TRUE(feed(bytes));
  // Most prefixes cut a field in half; an accepting reader would be ignoring damage.
  EXPECT_GT(rejected, static_cast<int>(bytes.size()) / 2);
}

TEST_F(ProtoFuzz, ByteFlips) {
  std::string bytes = rich();
  int rejected = 0, total = 0;
  for (size_t i = 0; i < bytes.size(); ++i)
    for (unsigned char mask : {0x01, 0x10, 0x80, 0xFF}) {
      std::string mutated = bytes;
      mutated[i] = static_cast<char>(mutated[i] ^ mask);
      ++total;
      if (!feed(mutated)) ++rejected;
    }
  EXPECT_GT(rejected, 0);
  EXPECT_LT(rejected, total);  // flips inside float payloads or names stay valid
}

TEST_F(ProtoFuzz, OverwriteWithExtremeVarints) {
  // Replacing bytes with 0xFF..0x01 turns small varints (sizes, ids, dims) into huge ones.
  std::string bytes = rich();
  const std::string big("\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 9);
  for (size_t i = 0; i + big.size() <= bytes.size(); i += 3) {
    std::string mutated = bytes;
    mutated.replace(i, big.size(), big);
    feed(mutated);
  }
}

TEST_F(ProtoFuzz, RandomGarbage) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> len(0, 300), byte(0, 255);
  int rejected = 0;
  for (int k = 0; k < 3000; ++k) {
    std::string s(static_cast<size_t>(len(rng)), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    if (!feed(s)) ++rejected;
  }
  EXPECT_GT(rejected, 1500);
}

TEST_F(ProtoFuzz, SplicedModules) {
  // Two valid modules glued together parse as one message with merged repeated fields.
  std::string bytes = rich();
  std::string twice = bytes + bytes;
  feed(twice);
  feed(bytes.substr(bytes.size() / 3) + bytes.substr(0, bytes.size() / 3));
}

}  // namespace
}  // namespace tessera::ir
