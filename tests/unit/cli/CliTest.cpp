// The `tessera` binary end to end: usage errors exit 2 naming the flag, IR errors exit 1 with a
// located message, --help exits 0, and opt/eval do their job. Runs the built binary.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "launcher/Npy.h"

namespace tessera::launcher {
namespace {

struct Result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tessera-cli-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    write("add.tir",
          "module @t {\n"
          "  func @main(%x: f32[2,3], %y: f32[2,3]) -> f32[2,3] {\n"
          "    %d = neg %x : f32[2,3]\n"
          "    %s = add %x, %y : f32[2,3]\n"
          "    return %s\n"
          "  }\n"
          "}\n");
    write("bad.tir",
          "module @t {\n"
          "  func @main(%x: f32[2,3]) -> f32[2,3] {\n"
          "    %s = add %x, %nope : f32[2,3]\n"
          "    return %s\n"
          "  }\n"
          "}\n");
    write("two.tir",
          "module @t {\n"
          "  func @f(%x: f32[2]) -> f32[2] {\n"
          "    return %x\n"
          "  }\n"
          "  func @g(%x: f32[2]) -> f32[2] {\n"
          "    %n = neg %x : f32[2]\n"
          "    return %n\n"
          "  }\n"
          "}\n");
    write("notes.txt", "hello");
    ASSERT_TRUE(writeNpy(path("x.npy"), ir::Tensor(ir::DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6}))
                    .isOk());
    ASSERT_TRUE(
        writeNpy(path("y.npy"), ir::Tensor(ir::DType::F32, {2, 3}, {0.5, 0, -3, 10, 0, 1}))
            .isOk());
    write("broken.npy", "\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(path(name), std::ios::binary) << text;
  }
  Result run(const std::string& args) {
    std::string cmd = "cd " + dir_ + " && " + TESSERA_BINARY_DIR "/tessera " + args + " >" +
                      path("stdout") + " 2>" + path("stderr");
    int st = std::system(cmd.c_str());
    Result r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.out = slurp(path("stdout"));
    r.err = slurp(path("stderr"));
    return r;
  }
  void expectUsageError(const std::string& args, const std::string& mention) {
    Result r = run(args);
    EXPECT_EQ(r.code, 2) << "tessera " << args << "\nstderr: " << r.err;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << "tessera " << args << "\nstderr: " << r.err;
    EXPECT_NE(r.err.find(mention), std::string::npos)
        << "tessera " << args << ": stderr should mention '" << mention << "':\n" << r.err;
  }

  std::string dir_;
};

TEST_F(Cli, HelpExitsZeroAndDescribesCommands) {
  Result top = run("--help");
  EXPECT_EQ(top.code, 0) << top.err;
  EXPECT_NE(top.out.find("opt"), std::string::npos);
  EXPECT_NE(top.out.find("eval"), std::string::npos);
  Result opt = run("opt --help");
  EXPECT_EQ(opt.code, 0) << opt.err;
  for (const char* s : {"--passes", "--emit", "--split-input-file", "--verify-diagnostics", ".tpb",
                        "dce", "cse", "verify"})
    EXPECT_NE(opt.out.find(s), std::string::npos) << s << " missing from:\n" << opt.out;
  Result eval = run("eval --help");
  EXPECT_EQ(eval.code, 0) << eval.err;
  for (const char* s : {"--input", "--func", "--output-dir", "NAME=FILE.npy"})
    EXPECT_NE(eval.out.find(s), std::string::npos) << s << " missing from:\n" << eval.out;
}

TEST_F(Cli, BadFlagsAreUsageErrors) {
  expectUsageError("", "subcommand");
  expectUsageError("frobnicate", "frobnicate");
  expectUsageError("opt add.tir --bogus", "--bogus");
  expectUsageError("opt add.tir --passes", "--passes");
  expectUsageError("opt", "FILE");
  expectUsageError("opt missing.tir", "no such file 'missing.tir'");
  expectUsageError("opt notes.txt", ".tir");
  expectUsageError("opt add.tir --passes=verify,foo", "unknown pass 'foo'");
  expectUsageError("opt add.tir --passes=foo", "known passes: verify, dce, cse");
  expectUsageError("opt add.tir --emit=xml", "--emit");
  expectUsageError("opt add.tir --emit=proto", "-o");
  expectUsageError("eval add.tir --input x", "--input 'x': expected NAME=FILE.npy");
  expectUsageError("eval add.tir --input =x.npy", "expected NAME=FILE.npy");
  expectUsageError("eval add.tir --input x=", "expected NAME=FILE.npy");
  expectUsageError("eval add.tir --input x=nothere.npy", "no such file 'nothere.npy'");
  expectUsageError("eval add.tir --input x=x.npy --input x=y.npy", "given twice");
  expectUsageError("eval add.tir --input z=x.npy", "arguments: %x, %y");
  expectUsageError("eval add.tir --func nope", "functions: @main");
  expectUsageError("eval two.tir", "functions: @f, @g");
  expectUsageError("eval add.tir --input", "--input");
}

TEST_F(Cli, IrErrorsExitOneWithALocatedMessage) {
  Result r = run("opt bad.tir");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("bad.tir:3:", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("error:"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  Result e = run("eval add.tir --input x=broken.npy --input y=y.npy");
  EXPECT_EQ(e.code, 1) << e.err;
  EXPECT_NE(e.err.find("broken.npy: error:"), std::string::npos) << e.err;
}

TEST_F(Cli, OptPrintsAndWritesTextAndProto) {
  Result printed = run("opt add.tir --passes=dce");
  ASSERT_EQ(printed.code, 0) << printed.err;
  EXPECT_EQ(printed.out.find("neg"), std::string::npos) << "dce removes the unused neg";
  EXPECT_NE(printed.out.find("%s = add %x, %y : f32[2,3]"), std::string::npos) << printed.out;

  Result toFile = run("opt add.tir --passes=dce -o out.tir");
  ASSERT_EQ(toFile.code, 0) << toFile.err;
  EXPECT_TRUE(toFile.out.empty());
  EXPECT_EQ(slurp(path("out.tir")), printed.out);

  // -o with .tpb means the protobuf form; reading it back prints the same text.
  Result proto = run("opt add.tir --passes=dce -o out.tpb");
  ASSERT_EQ(proto.code, 0) << proto.err;
  Result back = run("opt out.tpb");
  ASSERT_EQ(back.code, 0) << back.err;
  EXPECT_EQ(back.out, printed.out);

  // A failing run leaves an existing output file untouched.
  write("keep.tir", "precious");
  Result failed = run("opt bad.tir -o keep.tir");
  EXPECT_EQ(failed.code, 1);
  EXPECT_EQ(slurp(path("keep.tir")), "precious");
}

TEST_F(Cli, EvalPrintsSummariesAndWritesResults) {
  Result r = run("eval add.tir --input x=x.npy --input %y=y.npy --output-dir outs");
  ASSERT_EQ(r.code, 0) << r.err;
  // x + y = [1.5, 2, 0, 14, 5, 7], sum 29.5.
  EXPECT_EQ(r.out, "result0 (%s): f32[2,3] shape=[2,3] values=[1.5, 2, 0, 14, 5, 7] sum=29.5\n");
  auto t = readNpy(path("outs/result0.npy"));
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(*t, ir::Tensor(ir::DType::F32, {2, 3}, {1.5, 2, 0, 14, 5, 7}));

  Result g = run("eval two.tir --func @g --input x=outs/result0.npy");
  EXPECT_EQ(g.code, 1) << "shape [2,3] does not fit f32[2]: " << g.err;
  ASSERT_TRUE(writeNpy(path("v.npy"), ir::Tensor(ir::DType::F32, {2}, {3, -4})).isOk());
  Result g2 = run("eval two.tir --func g --input x=v.npy");
  ASSERT_EQ(g2.code, 0) << g2.err;
  EXPECT_EQ(g2.out, "result0 (%n): f32[2] shape=[2] values=[-3, 4] sum=1\n");
}

}  // namespace
}  // namespace tessera::launcher
