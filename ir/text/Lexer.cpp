// Tokenizer for the IR text form. Comments (`//` to end of line) and whitespace separate tokens.
#include "ir/text/Lexer.h"

namespace tessera::ir::text {

const char* tokName(Tok k) {
  switch (k) {
    case Tok::Ident: return "a word";
    case Tok::Int: return "an integer";
    case Tok::Float: return "a number";
    case Tok::Hex: return "a hex literal";
    case Tok::ValueName: return "a %value";
    case Tok::GlobalName: return "an @name";
    case Tok::LBrace: return "'{'";
    case Tok::RBrace: return "'}'";
    case Tok::LParen: return "'('";
    case Tok::RParen: return "')'";
    case Tok::LBracket: return "'['";
    case Tok::RBracket: return "']'";
    case Tok::Less: return "'<'";
    case Tok::Greater: return "'>'";
    case Tok::Equal: return "'='";
    case Tok::Comma: return "','";
    case Tok::Colon: return "':'";
    case Tok::Minus: return "'-'";
    case Tok::Plus: return "'+'";
    case Tok::Star: return "'*'";
    case Tok::Slash: return "'/'";
    case Tok::Question: return "'?'";
    case Tok::Arrow: return "'->'";
    case Tok::End: return "end of input";
    case Tok::Error: return "an invalid character";
  }
  return "?";
}

bool isIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isIdentChar(char c) { return isIdentStart(c) || isDigit(c); }
bool isNameChar(char c) { return isIdentChar(c) || c == '.' || c == '$' || c == '-'; }
static bool isHexDigit(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

namespace {

class Lexer {
 public:
  explicit Lexer(std::string_view in) : in_(in) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    for (;;) {
      skipSpaceAndComments();
      Token t = next();
      bool last = t.kind == Tok::End || t.kind == Tok::Error;
      out.push_back(std::move(t));
      if (last) return out;
    }
  }

 private:
  char at(size_t i) const { return i < in_.size() ? in_[i] : '\0'; }

  void advance(size_t n) {
    for (size_t i = 0; i < n && pos_ < in_.size(); ++i, ++pos_) {
      if (in_[pos_] == '\n') {
        ++line_;
        col_ = 1;
      } else {
        ++col_;
      }
    }
  }

  void skipSpaceAndComments() {
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        advance(1);
      } else if (c == '/' && at(pos_ + 1) == '/') {
        while (pos_ < in_.size() && in_[pos_] != '\n') advance(1);
      } else {
        return;
      }
    }
  }

  Token make(Tok kind, size_t len) {
    Token t{kind, in_.substr(pos_, len), line_, col_, {}};
    advance(len);
    return t;
  }

  Token error(std::string message) {
    Token t{Tok::Error, in_.substr(pos_, 1), line_, col_, std::move(message)};
    return t;
  }

  Token next() {
    if (pos_ >= in_.size()) return Token{Tok::End, {}, line_, col_, {}};
    char c = in_[pos_];
    if (isIdentStart(c)) {
      size_t n = 1;
      while (isIdentChar(at(pos_ + n))) ++n;
      return make(Tok::Ident, n);
    }
    if (isDigit(c)) return number();
    if (c == '%' || c == '@') {
      size_t n = 1;
      while (isNameChar(at(pos_ + n))) ++n;
      if (n == 1) return error(std::string("expected a name after '") + c + "'");
      Token t = make(c == '%' ? Tok::ValueName : Tok::GlobalName, n);
      t.text.remove_prefix(1);
      return t;
    }
    switch (c) {
      case '{': return make(Tok::LBrace, 1);
      case '}': return make(Tok::RBrace, 1);
      case '(': return make(Tok::LParen, 1);
      case ')': return make(Tok::RParen, 1);
      case '[': return make(Tok::LBracket, 1);
      case ']': return make(Tok::RBracket, 1);
      case '<': return make(Tok::Less, 1);
      case '>': return make(Tok::Greater, 1);
      case '=': return make(Tok::Equal, 1);
      case ',': return make(Tok::Comma, 1);
      case ':': return make(Tok::Colon, 1);
      case '+': return make(Tok::Plus, 1);
      case '*': return make(Tok::Star, 1);
      case '/': return make(Tok::Slash, 1);
      case '?': return make(Tok::Question, 1);
      case '-': return at(pos_ + 1) == '>' ? make(Tok::Arrow, 2) : make(Tok::Minus, 1);
      default: break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return error(std::string("unexpected character '") + c + "'");
    static const char* hex = "0123456789abcdef";
    return error(std::string("unexpected byte 0x") + hex[u >> 4] + hex[u & 15]);
  }

  Token number() {
    if (in_[pos_] == '0' && (at(pos_ + 1) == 'x' || at(pos_ + 1) == 'X')) {
      size_t n = 2;
      while (isHexDigit(at(pos_ + n))) ++n;
      Token t = make(Tok::Hex, n);
      t.text.remove_prefix(2);
      return t;
    }
    size_t n = 0;
    bool isFloat = false;
    while (isDigit(at(pos_ + n))) ++n;
    if (at(pos_ + n) == '.' && isDigit(at(pos_ + n + 1))) {
      isFloat = true;
      n += 1;
      while (isDigit(at(pos_ + n))) ++n;
    }
    char e = at(pos_ + n);
    if (e == 'e' || e == 'E') {
      size_t m = n + 1;
      if (at(pos_ + m) == '+' || at(pos_ + m) == '-') ++m;
      if (isDigit(at(pos_ + m))) {
        isFloat = true;
        n = m;
        while (isDigit(at(pos_ + n))) ++n;
      }
    }
    // `12abc` is one malformed token, not the number 12 followed by a word.
    if (isIdentChar(at(pos_ + n)) || at(pos_ + n) == '.') {
      Token t = error("malformed number");
      return t;
    }
    return make(isFloat ? Tok::Float : Tok::Int, n);
  }

  std::string_view in_;
  size_t pos_ = 0;
  int line_ = 1;
  int col_ = 1;
};

}  // namespace

std::vector<Token> tokenize(std::string_view input) { return Lexer(input).run(); }

}  // namespace tessera::ir::text
