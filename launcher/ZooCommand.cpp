// `tessera zoo`: build a model of the zoo (frontend/Zoo.h) from `--key=value` options and write
// its IR, or list the models with their options and defaults.
//
//   tessera zoo NAME [--key=value ...] [-o OUT] [--emit=text|proto]
//   tessera zoo --list
//
// The model options are not CLI11 options (each model has its own set), so the subcommand
// accepts extra arguments and hands every `--key=value` (or `--key value`) to the zoo, which
// checks them; a bad one is a usage error naming the flag (exit 2).
#include <iostream>

#include "frontend/Zoo.h"
#include "ir/Verifier.h"
#include "launcher/Commands.h"
#include "launcher/FileUtil.h"
#include "launcher/ModuleIO.h"

namespace tessera::launcher {

namespace {

int usageError(const std::string& msg) {
  std::cerr << "error: " << msg << "\n";
  return kExitUsage;
}

std::string listModels() {
  std::string out;
  for (const frontend::ZooModelInfo& m : frontend::zooModels()) {
    out += m.name + "\n    " + m.description + "\n   ";
    for (const auto& [key, value] : m.defaults) out += " --" + key + "=" + value;
    out += "\n";
  }
  return out;
}

class ZooCommand : public Command {
 public:
  CLI::App* add(CLI::App& app) override {
    cmd_ = app.add_subcommand("zoo", "Build a model from the zoo and write its IR.");
    cmd_->add_option("NAME", name_, "Model name (see --list)");
    cmd_->add_flag("--list", list_, "List the models with their options and defaults");
    cmd_->add_option("-o,--output", output_,
                     "Output file, written atomically (default: stdout; required for proto)");
    cmd_->add_option("--emit", emit_,
                     "Output form: text or proto (default: by -o's extension, else text)")
        ->check(CLI::IsMember({"text", "proto"}));
    cmd_->allow_extras();
    cmd_->footer(
        "Model options are given as --key=value (for example: tessera zoo gpt --layers=4 "
        "--hidden=128); 'tessera zoo --list' shows each model's options with their defaults.\n"
        "Exit codes: 0 ok, 1 error in the IR, 2 usage error.\n");
    return cmd_;
  }

  int run() override {
    if (list_) {
      std::cout << listModels();
      return kExitOk;
    }
    std::map<std::string, std::string> options;
    std::vector<std::string> extras = cmd_->remaining();
    for (size_t i = 0; i < extras.size(); ++i) {
      const std::string& arg = extras[i];
      if (arg.rfind("--", 0) != 0 || arg.size() < 3)
        return usageError("unexpected argument '" + arg + "'; model options are --key=value");
      size_t eq = arg.find('=');
      std::string key = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      std::string value;
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
      } else if (i + 1 < extras.size() && extras[i + 1].rfind("--", 0) != 0) {
        value = extras[++i];  // `--key value`, as `tessera train` accepts
      } else {
        return usageError(arg + ": expected " + arg + "=VALUE");
      }
      if (options.count(key)) return usageError("--" + key + ": given more than once");
      options[key] = value;
    }
    if (name_.empty())
      return usageError("NAME: give a model name ('tessera zoo --list' lists them)");

    ModuleFormat format = ModuleFormat::Text;
    if (emit_ == "proto") {
      format = ModuleFormat::Proto;
    } else if (emit_.empty() && !output_.empty()) {
      StatusOr<ModuleFormat> f = formatOfPath(output_);
      if (f.isOk()) format = *f;
    }
    if (format == ModuleFormat::Proto && output_.empty())
      return usageError("--emit=proto writes binary data; give an output file with -o");

    StatusOr<std::unique_ptr<ir::Module>> m = frontend::buildZooModel(name_, options);
    if (!m.isOk()) return usageError(usageText(m.status().message()));
    Status v = ir::verifyModule(**m);
    if (!v.isOk()) {
      std::cerr << v.message() << "\n";
      return kExitIrError;
    }
    StatusOr<std::string> bytes = encodeModule(**m, format);
    if (!bytes.isOk()) {
      std::cerr << bytes.status().message() << "\n";
      return kExitIrError;
    }
    if (output_.empty()) {
      std::cout << *bytes;
      return kExitOk;
    }
    Status w = writeFileAtomically(output_, *bytes);
    if (!w.isOk()) {
      std::cerr << w.message() << "\n";
      return kExitIrError;
    }
    return kExitOk;
  }

 private:
  CLI::App* cmd_ = nullptr;
  std::string name_;
  std::string output_;
  std::string emit_;
  bool list_ = false;
};

}  // namespace

std::unique_ptr<Command> makeZooCommand() { return std::make_unique<ZooCommand>(); }

}  // namespace tessera::launcher
