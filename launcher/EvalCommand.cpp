// `tessera eval`: run one function of a module on the reference interpreter, with inputs from
// .npy files, and print (and optionally save) its results.
#include <charconv>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "ir/Interpreter.h"
#include "ir/Verifier.h"
#include "launcher/Commands.h"
#include "launcher/FileUtil.h"
#include "launcher/ModuleIO.h"
#include "launcher/Npy.h"

namespace tessera::launcher {

CLI::App* addEvalCommand(CLI::App& app, EvalOptions& o) {
  CLI::App* cmd = app.add_subcommand("eval", "Run a function on the reference interpreter.");
  cmd->add_option("FILE", o.input, "Module: .tir (text), .tpb or .pb (protobuf), or - for stdin")
      ->required();
  cmd->add_option("--func", o.func,
                  "Function to run (default: the only function, else the one named main)");
  cmd->add_option("--input", o.inputs,
                  "NAME=FILE.npy: the value of argument %NAME (repeatable); arguments without "
                  "one take the module parameter of the same name")
      ->allow_extra_args(false);
  cmd->add_option("--output-dir", o.outputDir,
                  "Write each result as DIR/result0.npy, result1.npy, ... (created if missing)");
  cmd->footer(
      "Inputs: .npy arrays of dtype <f4 <f8 <f2 <i4 <i8 |b1, C order. numpy has no bfloat16: bf16\n"
      "results are written as float32, and a float32 array is accepted for a bf16 argument when\n"
      "every value is exactly a bf16 value.\n"
      "Exit codes: 0 ok, 1 error in the IR, the data or the run, 2 usage error.");
  return cmd;
}

namespace {

int usageError(const std::string& msg) {
  std::cerr << "error: " << msg << "\n";
  return kExitUsage;
}

int irError(const Status& st) {
  std::cerr << st.message() << "\n";
  return kExitIrError;
}

std::string functionList(const ir::Module& m) {
  std::string out;
  for (const auto& f : m.functions()) out += (out.empty() ? "@" : ", @") + f->name();
  return out.empty() ? "none" : out;
}

// Shortest text that reads back as the same value of the element type.
std::string formatValue(double v, ir::DType t) {
  if (t == ir::DType::Bool) return v != 0 ? "true" : "false";
  char buf[64];
  std::to_chars_result r;
  if (ir::isInteger(t) || (std::abs(v) < 9.007199254740992e15 && v == std::trunc(v) &&
                           !(v == 0 && std::signbit(v)))) {
    if (std::isfinite(v)) return std::to_string(static_cast<long long>(v));
  }
  if (t == ir::DType::F64) r = std::to_chars(buf, buf + sizeof buf, v);
  else r = std::to_chars(buf, buf + sizeof buf, static_cast<float>(v));
  return std::string(buf, r.ptr);
}

// One line per result: name, type and a summary an eye (or FileCheck) can check.
std::string summarize(const std::string& label, const ir::Value* v, const ir::Tensor& t) {
  constexpr int64_t kShown = 8;
  std::string out = label;
  if (v && !v->name().empty()) out += " (%" + v->name() + ")";
  out += ": " + (v ? v->type().str() : std::string(ir::dtypeName(t.dtype()))) +
         " shape=" + t.shapeStr() + " values=[";
  double sum = 0;
  for (int64_t i = 0; i < t.numElements(); ++i) {
    sum += t[i];
    if (i < kShown) out += (i ? ", " : "") + formatValue(t[i], t.dtype());
  }
  if (t.numElements() > kShown) out += ", ...";
  ir::DType sumType = t.dtype() == ir::DType::Bool ? ir::DType::I64 : t.dtype();
  out += "] sum=" + formatValue(sum, sumType);
  return out;
}

}  // namespace

int runEval(const EvalOptions& o) {
  StatusOr<ModuleFormat> format = formatOfPath(o.input);
  if (!format.isOk()) return usageError("FILE: " + usageText(format.status().message()));
  if (o.input != "-" && !fileExists(o.input))
    return usageError("FILE: no such file '" + o.input + "'");

  // Flag syntax first, so a typo is reported before any work.
  std::map<std::string, std::string> inputFiles;
  for (const std::string& spec : o.inputs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      return usageError("--input '" + spec + "': expected NAME=FILE.npy");
    std::string name = spec.substr(0, eq);
    if (name[0] == '%') name = name.substr(1);
    std::string file = spec.substr(eq + 1);
    if (inputFiles.count(name)) return usageError("--input: argument '" + name + "' given twice");
    if (!fileExists(file)) return usageError("--input " + name + ": no such file '" + file + "'");
    inputFiles[name] = file;
  }

  StatusOr<std::unique_ptr<ir::Module>> mod = readModule(o.input);
  if (!mod.isOk()) return irError(mod.status());
  ir::Module& m = **mod;
  if (Status st = ir::verifyModule(m); !st.isOk()) return irError(st);

  ir::Function* f = nullptr;
  std::string fname = !o.func.empty() && o.func[0] == '@' ? o.func.substr(1) : o.func;
  if (!fname.empty()) {
    f = m.findFunction(fname);
    if (!f)
      return usageError("--func: no function @" + fname + " (functions: " + functionList(m) + ")");
  } else if (m.functions().size() == 1) {
    f = m.functions()[0].get();
  } else if ((f = m.findFunction("main")) == nullptr) {
    return usageError("the module has " + std::to_string(m.functions().size()) +
                      " functions and none is named main; choose one with --func (functions: " +
                      functionList(m) + ")");
  }

  std::map<std::string, ir::Tensor> inputs;
  for (const auto& [name, file] : inputFiles) {
    const ir::Value* arg = nullptr;
    std::string argNames;
    for (int i = 0; i < f->numArguments(); ++i) {
      argNames += (i ? ", %" : "%") + f->argument(i)->name();
      if (f->argument(i)->name() == name) arg = f->argument(i);
    }
    if (!arg)
      return usageError("--input " + name + ": @" + f->name() + " has no argument %" + name +
                        " (arguments: " + (argNames.empty() ? "none" : argNames) + ")");
    StatusOr<ir::Tensor> t = readNpy(file);
    if (!t.isOk()) return irError(t.status());
    // numpy has no bfloat16, so bf16 data travels as float32 (see Npy.h).
    if (arg->type().dtype == ir::DType::BF16 && t->dtype() == ir::DType::F32) {
      for (int64_t i = 0; i < t->numElements(); ++i)
        if (ir::roundToDType((*t)[i], ir::DType::BF16) != (*t)[i] && !std::isnan((*t)[i]))
          return irError(Status::error(
              Location{file, 0, 0}, "element " + std::to_string(i) + " (" +
                                        formatValue((*t)[i], ir::DType::F32) +
                                        ") is not a bf16 value, and argument %" + name +
                                        " is bf16; round the data to bfloat16 first"));
      *t = ir::Tensor(ir::DType::BF16, t->shape(), t->data());
    }
    inputs.emplace(name, std::move(*t));
  }

  StatusOr<ir::InterpretResult> r = ir::interpret(*f, inputs);
  if (!r.isOk()) return irError(r.status());

  if (!r->symbols.empty()) {
    std::string line = "symbols:";
    for (const auto& [s, v] : r->symbols) line += " " + s + "=" + std::to_string(v);
    std::cout << line << "\n";
  }
  for (size_t i = 0; i < r->outputs.size(); ++i) {
    const ir::Value* v = i < f->results().size() ? f->results()[i] : nullptr;
    std::cout << summarize("result" + std::to_string(i), v, r->outputs[i]) << "\n";
  }

  if (!o.outputDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.outputDir, ec);
    if (ec)
      return usageError("--output-dir: cannot create '" + o.outputDir + "': " + ec.message());
    for (size_t i = 0; i < r->outputs.size(); ++i) {
      std::string path = o.outputDir + "/result" + std::to_string(i) + ".npy";
      if (Status st = writeNpy(path, r->outputs[i]); !st.isOk()) return irError(st);
      if (r->outputs[i].dtype() == ir::DType::BF16)
        std::cerr << "note: " << path << ": bf16 result written as float32 (numpy has no "
                  << "bfloat16)\n";
    }
  }
  return kExitOk;
}

namespace {
class EvalCommand : public Command {
 public:
  CLI::App* add(CLI::App& app) override { return addEvalCommand(app, options_); }
  int run() override { return runEval(options_); }

 private:
  EvalOptions options_;
};
}  // namespace

std::unique_ptr<Command> makeEvalCommand() { return std::make_unique<EvalCommand>(); }

}  // namespace tessera::launcher
