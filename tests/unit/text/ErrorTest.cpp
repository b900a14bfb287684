// Located errors: each malformed snippet must fail with `file:line:col: error: message`, at the
// token that is wrong, naming what was expected and what was found.
#include "TextTestUtil.h"

namespace tessera::ir {
namespace {

using testing::parseError;

// A module whose function body starts on line 4, each body line indented by four spaces.
std::string inFunc(const std::string& body, const std::string& sig = "(%x: f32[2]) -> (f32[2])") {
  return "module {\n  mesh @m = <dp=2>\n  func @f" + sig + " {\n" + body + "\n  }\n}\n";
}

struct Case {
  std::string text;
  std::string error;  // the full expected message
};

TEST(TextErrors, MalformedSnippetsAreLocated) {
  const Case cases[] = {
      {"", "t.tir:1:1: error: expected 'module', found end of input"},
      {"modul {}", "t.tir:1:1: error: expected 'module', found 'modul'"},
      {"module {",
       "t.tir:1:9: error: expected 'mesh', 'sym', 'param', 'func' or '}', found end "
       "of input"},
      {"module { # }", "t.tir:1:10: error: unexpected character '#'"},
      {"module {\n  \x01", "t.tir:2:3: error: unexpected byte 0x01"},
      {"module {} x", "t.tir:1:11: error: expected end of input after the module, found 'x'"},
      {"module { mesh @a = <dp=0> }",
       "t.tir:1:24: error: mesh axis 'dp' has size 0; sizes must be positive"},
      {"module {\n  mesh @a = <dp=1048576, tp=2>\n}",
       "t.tir:2:29: error: mesh @a has more than 1048576 devices"},
      {"module {\n  mesh @r = <x=2> devices=[0,0]\n}",
       "t.tir:2:3: error: mesh @r lists device 0 twice"},
      {"module {\n  mesh @r = <x=2> devices=[0,1,2]\n}",
       "t.tir:2:32: error: mesh @r has 2 devices but more are listed"},
      {"module {\n  mesh @s = @q[dp=0]\n}",
       "t.tir:2:13: error: unknown mesh @q (a parent mesh must be declared before its "
       "sub-meshes)"},
      {"module {\n  mesh @m = <dp=2>\n  mesh @s = @m[zz=0]\n}",
       "t.tir:3:13: error: mesh @m has no axis 'zz'"},
      {"module {\n  mesh @m = <dp=2>\n  mesh @m = <tp=2>\n}",
       "t.tir:3:8: error: mesh @m is declared twice"},
      {"module {\n  sym B divisible_by 0\n}",
       "t.tir:2:22: error: divisible_by must be positive, found 0"},
      {"module {\n  sym B\n  sym B\n}", "t.tir:3:7: error: symbol B is declared twice"},
      {"module {\n  param @p : f33[2]\n}",
       "t.tir:2:14: error: unknown element type 'f33'; expected f32, f64, bf16, f16, i32, i64 "
       "or bool"},
      {"module {\n  param @p : f32[4] = dense<f32[2], [1, 2]>\n}",
       "t.tir:2:23: error: initial value f32[2] does not match the parameter type f32[4]"},
      {"module {\n  param @p : f32[2] = dense<f32[2], [1, 2, 3]>\n}",
       "t.tir:2:44: error: f32[2] holds 2 elements but more values are given"},
      {"module {\n  param @p : f32[2] = dense<f32[2], [1]>\n}",
       "t.tir:2:39: error: f32[2] holds 2 elements but 1 values are given"},
      {"module {\n  param @p : f32[1000000,1000000] = dense<f32[1000000,1000000], 0x00>\n}",
       "t.tir:2:65: error: f32[1000000,1000000] needs 8000000000000 hex digits (2 per byte, 4 "
       "bytes per element), found 2"},
      {"module {\n  param @p : i32[1] = dense<i32[1], [2147483648]>\n}",
       "t.tir:2:38: error: value 2147483648 does not fit in i32"},
      {"module {\n  param @p : bool[1] = dense<bool[1], [2]>\n}",
       "t.tir:2:40: error: expected 'true' or 'false', found '2'"},
      {"module {\n  param @p : f32[B] = dense<f32[B], [1]>\n}",
       "t.tir:2:29: error: a dense literal needs a concrete shape of non-negative integers, "
       "found f32[B]"},
      {"module {\n  param @p : f32[2] = dense<f32[2], [1e999, 0]>\n}",
       "t.tir:2:38: error: number 1e999 is out of the range of f64"},
      {"module {\n  param @p : f32[B/S]\n}",
       "t.tir:2:20: error: a dimension can only be divided by a positive integer constant"},
      {"module {\n  param @p : f32[B/0]\n}",
       "t.tir:2:20: error: a dimension can only be divided by a positive integer constant"},
      {"module {\n  param @p : f32[B+]\n}",
       "t.tir:2:20: error: expected a dimension (an integer, a symbol or a parenthesized "
       "expression), found ']'"},
      {"module {\n  param @p : f32[12abc]\n}", "t.tir:2:18: error: malformed number"},
      {"module {\n  param @p : f32[2] {dp, +}\n}",
       "t.tir:2:26: error: expected a dimension sharding ('-', '?', a mesh axis or '(axes)'), "
       "found '+'"},
      {"module {\n  param @p : f32[2] {dp:q1}\n}",
       "t.tir:2:25: error: expected a priority such as 'p1' after ':', found 'q1'"},
      {"module {\n  param @p : f32[2] {dp} partial{dp:min}\n}",
       "t.tir:2:37: error: expected 'sum' or 'max', found 'min'"},
      {"module {\n  param @p : f32[2]\n  param @p : f32[2]\n}",
       "t.tir:3:9: error: parameter @p is declared twice"},
      // ---- inside a function: body lines are line 4 onwards
      {inFunc("    %y = frob %x : f32[2]\n    return %y"), "t.tir:4:10: error: unknown op 'frob'"},
      {inFunc("    %y = neg %z : f32[2]\n    return %y"),
       "t.tir:4:14: error: use of undefined value %z"},
      {inFunc("    %x = neg %x : f32[2]\n    return %x"),
       "t.tir:4:5: error: value %x is defined twice"},
      {inFunc("    %a, %a = top_k %x k=1 : f32[1], i64[1]\n    return %x"),
       "t.tir:4:9: error: value %a is defined twice"},
      {inFunc("    %y = neg %x foo=1 : f32[2]\n    return %y"),
       "t.tir:4:17: error: 'neg' has no attribute 'foo' (it takes none)"},
      {inFunc("    %y = reduce_sum %x axis=[0] : f32[]\n    return %y"),
       "t.tir:4:24: error: 'reduce_sum' has no attribute 'axis' (it has: axes, keepdims)"},
      {inFunc("    %y = gelu %x approximate=1 : f32[2]\n    return %y"),
       "t.tir:4:30: error: expected a gelu approximation (none, tanh) for attribute "
       "'approximate' of 'gelu', found '1'"},
      {inFunc("    %y = reduce_sum %x axes=[0] keepdims=yes : f32[1]\n    return %y"),
       "t.tir:4:42: error: expected 'true' or 'false' for attribute 'keepdims' of 'reduce_sum', "
       "found 'yes'"},
      {inFunc("    %y = reduce_sum %x axes=0 : f32[]\n    return %y"),
       "t.tir:4:29: error: expected '[' starting an integer list for attribute 'axes' of "
       "'reduce_sum', found '0'"},
      {inFunc("    %v, %i = top_k %x k=99999999999999999999 : f32[1], i64[1]\n    return %x"),
       "t.tir:4:25: error: integer 99999999999999999999 does not fit in 64 bits"},
      {inFunc("    %v, %i = top_k %x k=1 k=1 : f32[1], i64[1]\n    return %x"),
       "t.tir:4:27: error: attribute 'k' is given twice"},
      {inFunc("    %v, %i = top_k %x : f32[1], i64[1]\n    return %x"),
       "t.tir:4:5: error: top_k: missing required attribute 'k'"},
      {inFunc("    %v = top_k %x k=1 : f32[1]\n    return %x"),
       "t.tir:4:5: error: 'top_k' has 2 result(s) but 1 result name(s) are given"},
      {inFunc("    %v, %i = top_k %x k=1 : f32[1]\n    return %x"),
       "t.tir:4:5: error: 'top_k' has 2 result(s) but 1 result type(s) are given"},
      {inFunc("    %y = neg %x : f32[3]\n    return %y"),
       "t.tir:4:5: error: neg: result 0 is declared f32[3] but the op produces f32[2]"},
      {inFunc("    %y = neg %x, %x : f32[2]\n    return %y"),
       "t.tir:4:5: error: neg: expects 1 operands, got 2"},
      {inFunc("    %y = neg %x %x : f32[2]\n    return %y"),
       "t.tir:4:17: error: expected ':' and the result types, found '%x'"},
      {inFunc("    send %x axes=[dp] peer=0 : f32[2]\n    return %x"),
       "t.tir:4:30: error: 'send' has no results, so it takes no result types"},
      {inFunc("    %y = all_reduce %x axes=[dp] mesh=m : f32[2]\n    return %y"),
       "t.tir:4:39: error: expected a mesh such as '@m' for attribute 'mesh' of 'all_reduce', "
       "found 'm'"},
      {inFunc("    %y = cast %x dtype=f99 : f32[2]\n    return %y"),
       "t.tir:4:24: error: unknown element type 'f99'; expected f32, f64, bf16, f16, i32, i64 "
       "or bool"},
      {inFunc("    %y = neg %x : f32[2]\n    return %x", "(%x: f32[2]) -> (f32[3])"),
       "t.tir:5:12: error: returned value %x has type f32[2] but the signature declares f32[3]"},
      {inFunc("    return %x, %x"),
       "t.tir:4:5: error: function @f returns 2 values but its signature declares 1"},
      {inFunc("    return %x\n    %y = neg %x : f32[2]"),
       "t.tir:5:5: error: expected '}' closing the function after 'return', found '%y'"},
      {inFunc("    %y = neg %x : f32[2]"),
       "t.tir:5:3: error: expected an op name or 'return', found '}'"},
      {inFunc("    return %x", "(%x: f32[2], %x: f32[2]) -> (f32[2])"),
       "t.tir:3:23: error: argument %x is declared twice"},
      {"module {\n  func @f() -> () {\n    return\n  }\n  func @f() -> () {\n    return\n  "
       "}\n}",
       "t.tir:5:8: error: function @f is declared twice"},
      {"module {\n  func @f(%x f32[2]) -> () {\n    return\n  }\n}",
       "t.tir:2:14: error: expected ':' and the argument type, found 'f32'"},
      {"module {\n  func @f(%: f32[2]) -> () {\n    return\n  }\n}",
       "t.tir:2:11: error: expected a name after '%'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(parseError(c.text), c.error);
  }
}

TEST(TextErrors, FilenameIsUsedVerbatim) {
  EXPECT_EQ(parseError("module {\n  sym\n}", "dir/model.tir"),
            "dir/model.tir:3:1: error: expected a symbol name, found '}'");
}

TEST(TextErrors, DeepNestingIsRefusedNotRecursed) {
  std::string open(100000, '(');
  std::string text = "module {\n  param @p : f32[" + open + "B" + std::string(100000, ')') + "]\n}";
  std::string err = parseError(text);
  EXPECT_EQ(err.rfind("t.tir:2:", 0), 0u) << err;
  EXPECT_NE(err.find("nested too deeply"), std::string::npos) << err;
  // 60 levels are within the limit and mean just B.
  std::string ok =
      "module {\n  param @p : f32[" + std::string(60, '(') + "B" + std::string(60, ')') + "]\n}";
  EXPECT_EQ(parseError(ok), "OK");
}

TEST(TextErrors, HugeDimCoefficientsAreRefused) {
  std::string err = parseError("module {\n  param @p : f32[B/1000000000/1000000000/1000000000]\n}");
  EXPECT_NE(err.find("t.tir:2:"), std::string::npos) << err;
  EXPECT_NE(err.find("dimension expression is too large"), std::string::npos) << err;
  err = parseError(
      "module {\n  param @p : "
      "f32[(A+B+C+D+E+F+G+H)*(A+B+C+D+E+F+G+H)*(A+B+C+D+E+F+G+H)*(A+B+C+D+E+F+G+H)]\n}");
  EXPECT_NE(err.find("too large"), std::string::npos) << err;
}

}  // namespace
}  // namespace tessera::ir
