// The `tessera` subcommands: their options, how they register with the CLI parser, and what
// they run. main.cpp only builds the parser and dispatches.
//
// Exit codes are part of the interface: 0 success; 1 an error in the IR or the data (located
// message on stderr); 2 a usage error — unknown flag, missing or malformed value, missing file —
// with `error: ...` naming the flag or file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace tessera::launcher {

inline constexpr int kExitOk = 0;
inline constexpr int kExitIrError = 1;
inline constexpr int kExitUsage = 2;

struct OptOptions {
  std::string input;
  std::string passes;
  std::string emit;  // "", "text" or "proto"; "" = by -o's extension, else text
  std::string output;
  bool splitInputFile = false;
  bool verifyDiagnostics = false;
};

struct EvalOptions {
  std::string input;
  std::string func;
  std::vector<std::string> inputs;  // NAME=FILE.npy
  std::string outputDir;
};

// The text of an error Status for an `error: ...` usage line: "x.tir: error: what" becomes
// "x.tir: what" and "error: what" becomes "what".
inline std::string usageText(const std::string& statusMessage) {
  const std::string located = ": error: ";
  size_t at = statusMessage.find(located);
  if (statusMessage.rfind("error: ", 0) == 0) return statusMessage.substr(7);
  if (at == std::string::npos) return statusMessage;
  return statusMessage.substr(0, at) + ": " + statusMessage.substr(at + located.size());
}

// A subcommand: registers itself and its options with the CLI parser, then runs once parsed.
// Commands are listed in Commands.def; adding one is a new file plus one line there.
class Command {
 public:
  virtual ~Command() = default;
  virtual CLI::App* add(CLI::App& app) = 0;
  virtual int run() = 0;
};

#define COMMAND(name, factory) std::unique_ptr<Command> factory();
#include "launcher/Commands.def"

CLI::App* addOptCommand(CLI::App& app, OptOptions& o);
CLI::App* addEvalCommand(CLI::App& app, EvalOptions& o);

int runOpt(const OptOptions& o);
int runEval(const EvalOptions& o);

}  // namespace tessera::launcher
