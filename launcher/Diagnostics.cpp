// Input splitting and expected-error matching for `tessera opt`.
#include "launcher/Diagnostics.h"

#include <regex>

namespace tessera::launcher {

static std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

static bool isSplitMarker(std::string_view line) {
  size_t i = line.find_first_not_of(" \t");
  return i != std::string_view::npos && line.substr(i).rfind("// -----", 0) == 0;
}

std::vector<Chunk> splitInputFile(std::string_view text) {
  std::vector<Chunk> chunks;
  std::vector<std::string_view> lines = splitLines(text);
  Chunk cur;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (isSplitMarker(lines[i])) {
      chunks.push_back(std::move(cur));
      cur = Chunk{static_cast<int>(i) + 2, std::string(i + 1, '\n')};
      continue;
    }
    cur.text.append(lines[i]);
    cur.text += '\n';
  }
  chunks.push_back(std::move(cur));
  return chunks;
}

StatusOr<std::vector<ExpectedError>> collectExpectedErrors(std::string_view text,
                                                           const std::string& filename) {
  static const std::regex directive(R"(expected-error(@([+-]?)([0-9]+))?\s*\{\{(.*?)\}\})");
  std::vector<ExpectedError> out;
  std::vector<std::string_view> lines = splitLines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line(lines[i]);
    size_t comment = line.find("//");
    if (comment == std::string::npos) continue;
    size_t at = line.find("expected-error", comment);
    if (at == std::string::npos) continue;
    // Prose that mentions expected-error is not a directive; anything that starts like one
    // (`expected-error@` or `expected-error {`) must be well-formed, so a typo cannot silently
    // turn a test into one that expects nothing.
    size_t after = line.find_first_not_of(" \t", at + 14);
    if (after == std::string::npos || (line[after] != '@' && line[after] != '{')) continue;
    int lineNo = static_cast<int>(i) + 1;
    std::smatch m;
    std::string rest = line.substr(at);
    if (!std::regex_search(rest, m, directive) || m.position(0) != 0)
      return Status::error(Location{filename, lineNo, static_cast<int>(at) + 1},
                           "malformed expected-error directive; write "
                           "`// expected-error {{text}}` or `// expected-error@+N {{text}}`");
    int target = lineNo;
    if (m[1].matched) {
      if (m[2].str().empty())
        return Status::error(Location{filename, lineNo, static_cast<int>(at) + 1},
                             "expected-error@N needs a sign: @+N or @-N");
      if (m[3].str().size() > 6)
        return Status::error(Location{filename, lineNo, static_cast<int>(at) + 1},
                             "expected-error offset is too large");
      int n = std::stoi(m[3].str());
      target = m[2].str() == "+" ? lineNo + n : lineNo - n;
      if (target < 1)
        return Status::error(Location{filename, lineNo, static_cast<int>(at) + 1},
                             "expected-error offset points before the first line");
    }
    if (m[4].str().empty())
      return Status::error(Location{filename, lineNo, static_cast<int>(at) + 1},
                           "expected-error with an empty {{}} matches anything; give some text");
    out.push_back(ExpectedError{target, lineNo, m[4].str(), false});
  }
  return out;
}

ProducedError parseProducedError(const Status& s) {
  static const std::regex located(R"(^(.*):([0-9]+):([0-9]+): error: (.*)$)");
  ProducedError p;
  p.message = s.message();
  std::string first = p.message.substr(0, p.message.find('\n'));
  std::smatch m;
  if (std::regex_match(first, m, located) && m[2].str().size() < 9) {
    p.line = std::stoi(m[2].str());
    p.text = m[4].str();
  } else {
    size_t e = first.find("error: ");
    p.text = e == std::string::npos ? first : first.substr(e + 7);
  }
  return p;
}

std::vector<std::string> matchDiagnostics(std::vector<ExpectedError>& expected,
                                          const std::vector<ProducedError>& produced,
                                          const std::string& filename) {
  std::vector<std::string> problems;
  for (const ProducedError& p : produced) {
    bool matched = false;
    for (ExpectedError& e : expected) {
      if (e.met || e.line != p.line || p.text.find(e.substring) == std::string::npos) continue;
      e.met = matched = true;
      break;
    }
    if (!matched) problems.push_back("unexpected error: " + p.message);
  }
  for (const ExpectedError& e : expected)
    if (!e.met)
      problems.push_back(filename + ":" + std::to_string(e.directiveLine) +
                         ": expected error not produced: at line " + std::to_string(e.line) +
                         " containing {{" + e.substring + "}}");
  return problems;
}

}  // namespace tessera::launcher
