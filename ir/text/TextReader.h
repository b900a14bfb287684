// The parser's view of the token stream, and the pieces of syntax shared by module, op and
// tensor-literal parsing: integers, floats, symbolic dims, tensor types and shardings.
//
// Every error comes out as `file:line:col: error: expected X, found Y` at the offending token.
// Nothing here recurses without bound (parenthesized dims are depth-limited) and nothing
// allocates according to a size the input merely claims.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ir/Sharding.h"
#include "ir/Type.h"
#include "ir/text/Lexer.h"

namespace tessera::ir::text {

class Reader {
 public:
  Reader(std::string_view input, std::string filename)
      : tokens_(tokenize(input)), file_(std::move(filename)) {}

  // ---- token access ----
  const Token& peek(size_t k = 0) const;
  const Token& take();
  bool at(Tok k, size_t ahead = 0) const { return peek(ahead).kind == k; }
  bool atWord(std::string_view w, size_t ahead = 0) const {
    return at(Tok::Ident, ahead) && peek(ahead).text == w;
  }
  Location loc(const Token& t) const { return Location{file_, t.line, t.col}; }
  Location here() const { return loc(peek()); }
  const std::string& file() const { return file_; }

  // ---- errors ----
  Status errorAt(const Token& t, const std::string& message) const;
  // "expected <what>, found <current token>" at the current token (or its lexical error).
  Status expected(const std::string& what) const;
  // Consumes a token of kind `k` or fails with expected(what).
  Status expect(Tok k, const std::string& what);
  Status expectWord(std::string_view w);
  // How the token is quoted in messages: 'foo', '%x', '@m', or its kind's name.
  static std::string describe(const Token& t);

  // ---- shared syntax ----
  StatusOr<int64_t> parseInt(const std::string& what = "an integer");  // optional leading '-'
  StatusOr<double> parseFloat(const std::string& what = "a number");   // also inf, -inf, nan
  StatusOr<std::string> parseIdent(const std::string& what);
  StatusOr<Dim> parseDim();
  StatusOr<Shape> parseShape();      // [d0,d1,...]
  StatusOr<TensorType> parseType();  // f32[...]
  StatusOr<DType> parseDTypeWord();
  bool atSharding() const;             // `{` or `@mesh{`
  StatusOr<Sharding> parseSharding();  // [@mesh]{...} [partial{...}]

 private:
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  std::string file_;
};

}  // namespace tessera::ir::text
