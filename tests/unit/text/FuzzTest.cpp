// Fuzz-style robustness: the parser must return cleanly — a module, or an error that starts with
// the filename — on every truncation and many byte flips of every fixture, on random garbage and
// on pathological nesting. A crash, assert or hang fails the whole test binary.
#include <cstdint>

#include "TextTestUtil.h"
#include "tests/support/SplitMix64.h"

namespace tessera::ir {
namespace {

using testing::readFile;

using Rng = testing_support::SplitMix64;

// Parses; if it succeeds the result must print and re-parse; if not, the error must be located.
// Returns whether it parsed.
bool expectClean(const std::string& text, const std::string& what) {
  auto m = parseModule(text, "fuzz.tir");
  if (m.isOk()) {
    std::string printed = printModule(**m);
    auto again = parseModule(printed, "printed.tir");
    EXPECT_TRUE(again.isOk()) << what
                              << ": printed form does not parse: " << again.status().message()
                              << "\n"
                              << printed;
    if (!again.isOk()) return true;
    EXPECT_EQ(printModule(**again), printed) << what;
    return true;
  }
  EXPECT_EQ(m.status().message().rfind("fuzz.tir:", 0), 0u) << what << ": " << m.status().message();
  return false;
}

TEST(TextFuzz, EveryTruncationOfEveryFixture) {
  for (const std::string& path : testing::fixturePaths()) {
    std::string text = readFile(path);
    for (size_t n = 0; n <= text.size(); ++n) {
      expectClean(text.substr(0, n), path + " truncated at " + std::to_string(n));
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(TextFuzz, ByteFlipsOfEveryFixture) {
  Rng rng{42};
  // Replacements that are likely to reach deep parser states, plus arbitrary bytes.
  const std::string interesting = "%@{}()[]<>=,:-+*/?0123456789xeE.;# \n\t\x7f\xff\x00abpq";
  for (const std::string& path : testing::fixturePaths()) {
    std::string text = readFile(path);
    for (int trial = 0; trial < 1500; ++trial) {
      std::string mutated = text;
      int flips = 1 + static_cast<int>(rng.below(3));
      for (int k = 0; k < flips; ++k) {
        size_t at = rng.below(mutated.size());
        mutated[at] = rng.below(2) ? interesting[rng.below(interesting.size())]
                                   : static_cast<char>(rng.below(256));
      }
      expectClean(mutated, path + " trial " + std::to_string(trial));
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(TextFuzz, SpliceAndDeleteRanges) {
  Rng rng{7};
  for (const std::string& path : testing::fixturePaths()) {
    std::string text = readFile(path);
    for (int trial = 0; trial < 300; ++trial) {
      std::string mutated = text;
      size_t a = rng.below(mutated.size()), len = rng.below(40);
      if (rng.below(2)) {
        mutated.erase(a, len);
      } else {  // duplicate a range of the file elsewhere
        size_t b = rng.below(text.size());
        mutated.insert(a, text.substr(b, len));
      }
      expectClean(mutated, path + " splice " + std::to_string(trial));
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(TextFuzz, RandomGarbage) {
  Rng rng{2024};
  const std::string alphabet =
      "module mesh sym param func return dense @m %x f32[B,2] {}()<>=,:-+*/? 0x1f 1.5e3\n";
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text = trial % 2 ? "module {\n" : "";
    size_t n = rng.below(200);
    for (size_t i = 0; i < n; ++i)
      text +=
          trial % 3 == 0 ? static_cast<char>(rng.below(256)) : alphabet[rng.below(alphabet.size())];
    expectClean(text, "garbage " + std::to_string(trial));
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(TextFuzz, PathologicalInputs) {
  const std::string head = "module {\n  param @p : f32[";
  const std::vector<std::string> inputs = {
      head + std::string(100000, '(') + "]\n}",
      head + std::string(100000, '-') + "B]\n}",
      head + "B" + std::string(50000, '*') + "]\n}",
      head +
          [] {
            std::string s;
            for (int i = 0; i < 20000; ++i) s += "B*";
            return s + "B";
          }() +
          "]\n}",
      head +
          [] {
            std::string s;
            for (int i = 0; i < 20000; ++i) s += "B/2/";
            return s + "1";
          }() +
          "]\n}",
      head + "99999999999999999999999999999]\n}",
      head + "9223372036854775807*9223372036854775807*B]\n}",
      head + "-9223372036854775808]\n}",
      "module {\n  param @p : f32[1099511627776] = dense<f32[1099511627776], [1, 2]>\n}",
      "module {\n  param @p : f32[4294967296,4294967296] = dense<f32[4294967296,4294967296], "
      "0x00>\n}",
      "module {\n  param @p : f32[-1] = dense<f32[-1], []>\n}",
      "module {\n  mesh @m = <a=4294967296, b=4294967296>\n}",
      "module {\n  mesh @m = <a=9223372036854775807>\n}",
      "module {\n  mesh @m = <a=2> devices=[" +
          [] {
            std::string s;
            for (int i = 0; i < 100000; ++i) s += "1,";
            return s;
          }() +
          "1]\n}",
      "module {\n  param @p : f32[2] {" + std::string(100000, '(') + "}\n}",
      "module {\n  param @p : f32[2] {dp:p99999999999}\n}",
      "module {\n  param @p : f32[2] {dp:p-2147483648}\n}",
      "module {\n  func @f(" + std::string(100000, '%') + ") -> () {\n    return\n  }\n}",
      std::string(100000, '{'),
      std::string(100000, '}'),
      "module {" + std::string(100000, '\n') + "}",
      "module { // no newline at the end",
      std::string("module {\0}", 10),
  };
  for (size_t i = 0; i < inputs.size(); ++i)
    expectClean(inputs[i], "pathological " + std::to_string(i));
}

// Every op of the table with random operands, attribute values of the right kinds (and some
// of the wrong kinds) and random declared types: the parser hands these to the shape rules, so
// the rules too must answer with a located error rather than crash.
TEST(TextFuzz, RandomOpsThroughShapeRules) {
  Rng rng{31337};
  const std::vector<std::string> types = {"f32[2,3]",  "f32[3,2]", "i64[2]", "f32[]",
                                          "bool[2,3]", "f32[B,3]", "i32[0]", "f16[2,3,4]",
                                          "i64[B]",    "f32[1]"};
  const std::vector<std::string> ints = {
      "0", "1", "-1", "2", "3", "-7", "9223372036854775807", "-9223372036854775808", "1048576"};
  auto pick = [&](const std::vector<std::string>& v) { return v[rng.below(v.size())]; };
  auto list = [&](const std::vector<std::string>& v) {
    std::string out = "[";
    size_t n = rng.below(5);
    for (size_t i = 0; i < n; ++i) out += (i ? "," : "") + pick(v);
    return out + "]";
  };
  std::string head = "module {\n  mesh @m = <dp=2, tp=3>\n  sym B\n  func @f(";
  for (size_t i = 0; i < types.size(); ++i)
    head += (i ? ", " : "") + std::string("%a") + std::to_string(i) + ": " + types[i];
  head += ") -> () {\n    ";
  int parsed = 0;
  for (int trial = 0; trial < 6000; ++trial) {
    const OpInfo& info = allOps()[rng.below(allOps().size())];
    std::string line;
    int nres = info.numResults;
    for (int i = 0; i < nres; ++i) line += (i ? ", %r" : "%r") + std::to_string(i);
    if (nres) line += " = ";
    line += info.mnemonic;
    int nops = info.numOperands >= 0 ? info.numOperands : 1 + static_cast<int>(rng.below(3));
    if (rng.below(20) == 0) nops = static_cast<int>(rng.below(4));
    for (int i = 0; i < nops; ++i)
      line += (i ? ", %a" : " %a") + std::to_string(rng.below(types.size()));
    for (const AttrSpec& a : info.attrs) {
      if (rng.below(10) == 0) continue;  // sometimes leave it out, required or not
      line += " " + std::string(a.name) + "=";
      AttrKind kind = rng.below(15) == 0 ? static_cast<AttrKind>(rng.below(10)) : a.kind;
      switch (kind) {
        case AttrKind::Int: line += pick(ints); break;
        case AttrKind::Float:
          line += pick({"0.5", "-1", "nan", "inf", "-inf", "0", "1e300"});
          break;
        case AttrKind::Bool: line += rng.below(2) ? "true" : "false"; break;
        case AttrKind::IntList: line += list(ints); break;
        case AttrKind::DimList:
          line += list({"0", "1", "2", "3", "B", "-1", "B/2", "B + 1"});
          break;
        case AttrKind::AxisList: line += list({"dp", "tp", "zz"}); break;
        case AttrKind::Enum:
          line += a.enumDef ? a.enumDef->values[rng.below(a.enumDef->values.size())] : "sum";
          break;
        case AttrKind::DType: line += pick({"f32", "i64", "bool", "bf16"}); break;
        case AttrKind::Tensor:
          line += pick({"dense<f32[2], [1, 2]>", "dense<i64[], [3]>", "dense<bool[0], []>"});
          break;
        case AttrKind::MeshRef: line += pick({"@m", "@q"}); break;
      }
    }
    if (nres) {
      line += " :";
      for (int i = 0; i < nres; ++i) line += (i ? ", " : " ") + pick(types);
    }
    parsed += expectClean(head + line + "\n    return\n  }\n}\n", line);
    if (::testing::Test::HasFailure()) return;
  }
  // Enough of the random ops must pass their shape rules for the test to reach them at all.
  EXPECT_GT(parsed, 100) << "of 6000";
}

}  // namespace
}  // namespace tessera::ir
