// `--split-input-file` and `--verify-diagnostics` for `tessera opt` (the MLIR conventions).
//
// Splitting cuts a file at lines `// -----`. Each chunk is padded with the empty lines that
// preceded it, so a chunk parsed on its own still reports the line numbers of the whole file.
//
// Expected diagnostics are comments in the input:
//   %y = add %x, %z : f32[4]   // expected-error {{substring}}       (an error on this line)
//   // expected-error@+1 {{substring}}                                (on the next line)
//   // expected-error@-2 {{substring}}                                (two lines up)
// An expectation is met by an error located on that line whose message (the text after
// "error: ") contains the substring. Verification passes when every expectation is met and no
// other error was produced. A comment that merely mentions expected-error in prose is not a
// directive; one that starts like a directive (`expected-error@`, `expected-error {`) but is
// malformed is an error, so a typo cannot turn a test into one that expects nothing.
//
// The parser and the verifier stop at the first error, so each chunk can produce at most one
// error: write one expectation per chunk and separate the cases with `// -----`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ir/Status.h"

namespace tessera::launcher {

struct Chunk {
  int firstLine = 1;  // line of the original file the chunk starts at
  std::string text;   // padded: firstLine - 1 newlines, then the chunk's lines
};

std::vector<Chunk> splitInputFile(std::string_view text);

struct ExpectedError {
  int line = 0;           // where the error is expected
  int directiveLine = 0;  // where the comment is
  std::string substring;
  bool met = false;
};

// The expectations written in `text`; a malformed directive is an error at its line.
StatusOr<std::vector<ExpectedError>> collectExpectedErrors(std::string_view text,
                                                           const std::string& filename);

// A produced error, split out of a Status message `file:line:col: error: text[\nnotes]`.
struct ProducedError {
  int line = 0;  // 0 when the error has no line
  std::string text;     // after "error: ", first line only
  std::string message;  // the whole Status message
};
ProducedError parseProducedError(const Status& s);

// Marks the expectations met by `produced`; returns one line per problem (an expectation not met
// or an unexpected error), empty when everything matched.
std::vector<std::string> matchDiagnostics(std::vector<ExpectedError>& expected,
                                          const std::vector<ProducedError>& produced,
                                          const std::string& filename);

}  // namespace tessera::launcher
