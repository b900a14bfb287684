// Tokens of the IR text form (docs/ir-text-format.md).
//
// The whole input is tokenized up front: the parser then looks ahead freely (an attribute is a
// word followed by `=`, a sharding may start with `@mesh{`), and a lexical error simply becomes
// an Error token that the parser reports, with its location, when it reaches it. Token texts are
// views into the input, which must outlive the tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tessera::ir::text {

enum class Tok {
  Ident,       // [A-Za-z_][A-Za-z0-9_]*
  Int,         // decimal digits, no sign
  Float,       // digits with a fraction and/or exponent, no sign
  Hex,         // 0x followed by hex digits (raw tensor bytes)
  ValueName,   // %name; text excludes the '%'
  GlobalName,  // @name; text excludes the '@'
  // clang-format off
  LBrace, RBrace, LParen, RParen, LBracket, RBracket, Less, Greater,
  Equal, Comma, Colon, Minus, Plus, Star, Slash, Question, Arrow,
  // clang-format on
  End,    // end of input
  Error,  // a lexical error; text holds the message
};

// How a token kind is named in "expected X, found Y" messages.
const char* tokName(Tok k);

struct Token {
  Tok kind = Tok::End;
  std::string_view text;
  int line = 1;
  int col = 1;
  std::string message;  // for Tok::Error only
};

// Tokenizes `input`; the result always ends with an End or an Error token (nothing follows it).
std::vector<Token> tokenize(std::string_view input);

// Characters allowed in %value and @global names.
bool isNameChar(char c);
bool isIdentStart(char c);
bool isIdentChar(char c);

}  // namespace tessera::ir::text
