// `tessera opt`: read a module (text or protobuf), verify it, run a pass pipeline, write it.
#include <iostream>
#include <iterator>

#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "launcher/Commands.h"
#include "launcher/Diagnostics.h"
#include "launcher/FileUtil.h"
#include "launcher/ModuleIO.h"
#include "passes/PassRegistry.h"
#include "passes/Pipeline.h"

namespace tessera::launcher {

CLI::App* addOptCommand(CLI::App& app, OptOptions& o) {
  CLI::App* cmd = app.add_subcommand("opt", "Verify a module, run passes on it and print it.");
  cmd->add_option("FILE", o.input,
                  "Input module: .tir (text), .tpb or .pb (protobuf), or - for text on stdin")
      ->required();
  cmd->add_option("--passes", o.passes, "Comma-separated pass pipeline, e.g. verify,dce,cse");
  cmd->add_option("--emit", o.emit,
                  "Output form: text or proto (default: by -o's extension, else text)")
      ->check(CLI::IsMember({"text", "proto"}));
  cmd->add_option("-o,--output", o.output,
                  "Output file, written atomically (default: stdout; required for proto)");
  cmd->add_flag("--split-input-file", o.splitInputFile,
                "Process each chunk between '// -----' lines as a separate module");
  cmd->add_flag("--verify-diagnostics", o.verifyDiagnostics,
                "Check errors against '// expected-error {{...}}' comments instead of failing");
  cmd->footer("Passes:\n" + passes::passHelp() +
              "\nThe module is verified after reading and after every pass.\n"
              "Exit codes: 0 ok, 1 error in the IR, 2 usage error.");
  return cmd;
}

namespace {

int usageError(const std::string& msg) {
  std::cerr << "error: " << msg << "\n";
  return kExitUsage;
}

// Parse (or decode), verify, run the pipeline.
StatusOr<std::unique_ptr<ir::Module>> processText(const std::string& text,
                                                  const std::string& filename,
                                                  const passes::Pipeline& pipeline) {
  TRY_ASSIGN(auto m, parseModuleText(text, filename));
  TRY(ir::verifyModule(*m));
  TRY(pipeline.run(*m).status());
  return m;
}

}  // namespace

int runOpt(const OptOptions& o) {
  StatusOr<passes::Pipeline> pipeline = passes::Pipeline::parse(o.passes);
  if (!pipeline.isOk()) return usageError("--passes: " + usageText(pipeline.status().message()));

  StatusOr<ModuleFormat> inFormat = formatOfPath(o.input);
  if (!inFormat.isOk()) return usageError("FILE: " + usageText(inFormat.status().message()));
  if (o.input != "-" && !fileExists(o.input))
    return usageError("FILE: no such file '" + o.input + "'");

  ModuleFormat outFormat = ModuleFormat::Text;
  if (o.emit == "proto") {
    outFormat = ModuleFormat::Proto;
  } else if (o.emit.empty() && !o.output.empty()) {
    StatusOr<ModuleFormat> f = formatOfPath(o.output);
    if (f.isOk()) outFormat = *f;
  }
  if (outFormat == ModuleFormat::Proto && o.output.empty())
    return usageError("--emit=proto writes binary data; give an output file with -o");
  bool chunked = o.splitInputFile || o.verifyDiagnostics;
  if (chunked && *inFormat == ModuleFormat::Proto)
    return usageError("--split-input-file and --verify-diagnostics need a text (.tir) input");
  if (o.splitInputFile && outFormat == ModuleFormat::Proto)
    return usageError("--split-input-file makes several modules; --emit=proto writes one");

  if (!chunked) {
    // One module, either form.
    StatusOr<std::unique_ptr<ir::Module>> m = readModule(o.input);
    Status st = m.status();
    if (st.isOk()) st = ir::verifyModule(**m);
    if (st.isOk()) st = pipeline->run(**m).status();
    if (!st.isOk()) {
      std::cerr << st.message() << "\n";
      return kExitIrError;
    }
    StatusOr<std::string> bytes = encodeModule(**m, outFormat);
    if (!bytes.isOk()) {
      std::cerr << bytes.status().message() << "\n";
      return kExitIrError;
    }
    if (o.output.empty()) {
      std::cout << *bytes;
      return kExitOk;
    }
    Status w = writeFileAtomically(o.output, *bytes);
    if (!w.isOk()) {
      std::cerr << w.message() << "\n";
      return kExitIrError;
    }
    return kExitOk;
  }

  std::string text;
  std::string filename = o.input == "-" ? "<stdin>" : o.input;
  if (o.input == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    StatusOr<std::string> r = readFile(o.input);
    if (!r.isOk()) return usageError("FILE: " + usageText(r.status().message()));
    text = std::move(*r);
  }
  std::vector<Chunk> chunks =
      o.splitInputFile ? splitInputFile(text) : std::vector<Chunk>{Chunk{1, text}};

  bool failed = false;
  std::string out;
  bool firstOut = true;
  for (const Chunk& chunk : chunks) {
    StatusOr<std::unique_ptr<ir::Module>> m = processText(chunk.text, filename, *pipeline);
    if (o.verifyDiagnostics) {
      StatusOr<std::vector<ExpectedError>> expected = collectExpectedErrors(chunk.text, filename);
      if (!expected.isOk()) {
        std::cerr << expected.status().message() << "\n";
        failed = true;
        continue;
      }
      std::vector<ProducedError> produced;
      if (!m.isOk()) produced.push_back(parseProducedError(m.status()));
      for (const std::string& problem : matchDiagnostics(*expected, produced, filename)) {
        std::cerr << problem << "\n";
        failed = true;
      }
    } else if (!m.isOk()) {
      std::cerr << m.status().message() << "\n";
      failed = true;
    }
    if (!m.isOk()) continue;
    if (!firstOut) out += "// -----\n";
    firstOut = false;
    out += ir::printModule(**m);
  }
  if (failed) return kExitIrError;
  if (o.output.empty()) {
    std::cout << out;
    return kExitOk;
  }
  Status w = writeFileAtomically(o.output, out);
  if (!w.isOk()) {
    std::cerr << w.message() << "\n";
    return kExitIrError;
  }
  return kExitOk;
}

namespace {
class OptCommand : public Command {
 public:
  CLI::App* add(CLI::App& app) override { return addOptCommand(app, options_); }
  int run() override { return runOpt(options_); }

 private:
  OptOptions options_;
};
}  // namespace

std::unique_ptr<Command> makeOptCommand() { return std::make_unique<OptCommand>(); }

}  // namespace tessera::launcher
