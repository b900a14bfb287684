// `tessera import model.onnx -o model.tir`: import an ONNX model (opset 13 to 17) into a Tessera
// module and write it in text or protobuf form (chosen by -o's extension, text on stdout
// without -o).
#include <iostream>

#include "frontend/OnnxImporter.h"
#include "launcher/Commands.h"
#include "launcher/FileUtil.h"
#include "launcher/ModuleIO.h"

namespace tessera::launcher {

namespace {

struct ImportOptions {
  std::string input;
  std::string output;
};

class ImportCommand : public Command {
 public:
  CLI::App* add(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand("import", "Import an ONNX model into a Tessera module.");
    cmd->add_option("FILE", o_.input, "ONNX model (.onnx), opset 13 to 17")->required();
    cmd->add_option("-o,--output", o_.output,
                    "Output module: .tir (text) or .tpb/.pb (protobuf), written atomically "
                    "(default: text on stdout)");
    cmd->footer(
        "Float initializers become trainable parameters, integer initializers constants, and\n"
        "dim_param dims symbols; shape computations are folded at import. The function is @main.\n"
        "Exit codes: 0 ok, 1 the model cannot be imported, 2 usage error.");
    return cmd;
  }

  int run() override {
    if (!fileExists(o_.input)) {
      std::cerr << "error: FILE: no such file '" << o_.input << "'\n";
      return kExitUsage;
    }
    ModuleFormat format = ModuleFormat::Text;
    if (!o_.output.empty()) {
      StatusOr<ModuleFormat> f = formatOfPath(o_.output);
      if (!f.isOk()) {
        std::cerr << "error: --output: " << usageText(f.status().message()) << "\n";
        return kExitUsage;
      }
      format = *f;
    }
    StatusOr<std::unique_ptr<ir::Module>> m = frontend::importOnnx(o_.input);
    if (!m.isOk()) {
      std::cerr << m.status().message() << "\n";
      return kExitIrError;
    }
    StatusOr<std::string> bytes = encodeModule(**m, format);
    if (!bytes.isOk()) {
      std::cerr << bytes.status().message() << "\n";
      return kExitIrError;
    }
    if (o_.output.empty()) {
      std::cout << *bytes;
      return kExitOk;
    }
    Status w = writeFileAtomically(o_.output, *bytes);
    if (!w.isOk()) {
      std::cerr << w.message() << "\n";
      return kExitIrError;
    }
    return kExitOk;
  }

 private:
  ImportOptions o_;
};

}  // namespace

std::unique_ptr<Command> makeImportCommand() { return std::make_unique<ImportCommand>(); }

}  // namespace tessera::launcher
