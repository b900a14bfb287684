// Data arguments for `tessera train` (see TrainInputs.h).
#include "launcher/TrainInputs.h"

#include <charconv>

#include "launcher/FileUtil.h"
#include "launcher/Npy.h"

namespace tessera::launcher {

namespace {

std::string argList(const ir::Function& f) {
  std::string out;
  for (int i = 0; i < f.numArguments(); ++i) out += (i ? ", %" : "%") + f.argument(i)->name();
  return out.empty() ? "none" : out;
}

const ir::Value* findArg(const ir::Function& f, const std::string& name) {
  for (int i = 0; i < f.numArguments(); ++i)
    if (f.argument(i)->name() == name) return f.argument(i);
  return nullptr;
}

bool isData(const ir::Module& m, const ir::Value* a) {
  const ir::Parameter* p = m.findParam(a->name());
  return !(p && p->trainable);
}

}  // namespace

StatusOr<std::vector<InputSpec>> parseInputSpecs(const std::vector<std::string>& specs) {
  std::vector<InputSpec> out;
  for (const std::string& spec : specs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      return Status::error("--input '" + spec + "': expected NAME=FILE.npy");
    InputSpec s{spec.substr(0, eq), spec.substr(eq + 1)};
    if (s.name[0] == '%') s.name = s.name.substr(1);
    for (const InputSpec& o : out)
      if (o.name == s.name) return Status::error("--input: argument '" + s.name + "' given twice");
    if (!fileExists(s.file))
      return Status::error("--input " + s.name + ": no such file '" + s.file + "'");
    out.push_back(std::move(s));
  }
  return out;
}

Status checkInputNames(const std::vector<InputSpec>& specs, const ir::Function& f,
                       const std::set<const ir::Value*>& trainable) {
  for (const InputSpec& s : specs) {
    const ir::Value* a = findArg(f, s.name);
    if (!a)
      return Status::error("--input " + s.name + ": @" + f.name() + " has no argument %" + s.name +
                           " (arguments: " + argList(f) + ")");
    if (trainable.count(a))
      return Status::error("--input " + s.name + ": %" + s.name +
                           " is a trained parameter; its value comes from the model and then "
                           "from the optimizer");
  }
  return Status::ok();
}

StatusOr<std::map<std::string, ir::Tensor>> loadInputs(const std::vector<InputSpec>& specs,
                                                       const ir::Function& f) {
  std::map<std::string, ir::Tensor> out;
  for (const InputSpec& s : specs) {
    const ir::Value* a = findArg(f, s.name);
    assert(a && "checkInputNames ran first");
    TRY_ASSIGN(ir::Tensor t, readNpy(s.file));
    const ir::TensorType& type = a->type();
    std::string where = "--input " + s.name + " (" + s.file + "): argument %" + s.name +
                        " is " + type.str() + ", the file holds " +
                        std::string(ir::dtypeName(t.dtype())) + t.shapeStr();
    if (t.dtype() != type.dtype) return Status::error(where + ": wrong element type");
    if (t.rank() != type.rank()) return Status::error(where + ": wrong rank");
    for (int d = 0; d < type.rank(); ++d)
      if (auto c = type.shape[d].constant(); c && *c != t.shape()[d])
        return Status::error(where + ": dim " + std::to_string(d) + " differs");
    out.emplace(s.name, std::move(t));
  }
  return out;
}

StatusOr<CharDataPlan> planCharData(const ir::Function& f,
                                    const std::vector<const ir::Value*>& needData, int64_t batch,
                                    int64_t seq, const std::map<std::string, std::string>& zoo,
                                    int accum) {
  CharDataPlan plan;
  const ir::Value* tokens = findArg(f, plan.tokensArg);
  const ir::Value* targets = findArg(f, plan.targetsArg);
  for (const ir::Value* a : needData)
    if (a != tokens && a != targets)
      return Status::error("@" + f.name() + " argument %" + a->name() + " (" + a->type().str() +
                           ") has no data: give --input " + a->name() + "=FILE.npy");
  bool needsTokens = false, needsTargets = false;
  for (const ir::Value* a : needData) (a == tokens ? needsTokens : needsTargets) = true;
  if (!needsTokens || !needsTargets)
    return Status::error(
        std::string("--data: character-level data feeds %tokens and %targets (i64[B,S]), ") +
        (needData.empty() ? "but every input of @" + f.name() + " already has a value"
                          : "but only one of them is missing a value"));
  for (const ir::Value* a : {tokens, targets})
    if (a->type().dtype != ir::DType::I64 || a->type().rank() != 2)
      return Status::error("--data: character-level data feeds %" + a->name() +
                           " as i64[B,S], but it is " + a->type().str());
  if (tokens->type() != targets->type())
    return Status::error("--data: %tokens (" + tokens->type().str() + ") and %targets (" +
                         targets->type().str() + ") must have the same type");

  auto pick = [&](int dim, int64_t flag, const char* flagName, int64_t dflt) -> StatusOr<int64_t> {
    std::optional<int64_t> declared = tokens->type().shape[dim].constant();
    if (flag && declared && *declared != flag)
      return Status::error(std::string(flagName) + " " + std::to_string(flag) +
                           ": the model's %tokens is " + tokens->type().str());
    return flag ? flag : declared ? *declared : dflt;
  };
  TRY_ASSIGN(plan.batch, pick(0, batch, "--batch", 4));
  int64_t seqDefault = 64;
  if (auto it = zoo.find("seq"); it != zoo.end()) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (ec == std::errc() && p == it->second.data() + it->second.size() && v > 0) seqDefault = v;
  }
  TRY_ASSIGN(plan.seq, pick(1, seq, "--seq", seqDefault));
  if (plan.batch % accum != 0)
    return Status::error("--accum " + std::to_string(accum) + " does not divide the batch of " +
                         std::to_string(plan.batch) + " sequences (--batch)");

  // Bytes are token ids 0..255: the embedding table must have that many rows.
  for (const auto& op : f.ops()) {
    if (op->kind() != ir::OpKind::Gather || op->operand(1) != tokens) continue;
    const ir::TensorType& table = op->operand(0)->type();
    int64_t axis = op->intAttr("axis");
    if (axis < 0) axis += table.rank();
    if (axis < 0 || axis >= table.rank()) continue;
    if (auto v = table.shape[axis].constant(); v && *v < 256)
      return Status::error("--data: character-level data has 256 byte values, but the model's "
                           "vocabulary (dim " + std::to_string(axis) + " of " +
                           (op->operand(0)->name().empty() ? "the embedding table"
                                                           : "%" + op->operand(0)->name()) +
                           ") is " + std::to_string(*v) + "; for a zoo model use --vocab 256");
  }
  return plan;
}

int64_t tokensPerStep(const ir::Module& m, const ir::Function& f,
                      const std::map<std::string, ir::Tensor>& fixed) {
  auto valueOf = [&](const ir::Value* a) -> const ir::Tensor* {
    if (auto it = fixed.find(a->name()); it != fixed.end()) return &it->second;
    const ir::Parameter* p = m.findParam(a->name());
    return p && p->init ? p->init.get() : nullptr;
  };
  for (int i = 0; i < f.numArguments(); ++i) {
    const ir::Value* a = f.argument(i);
    if (isData(m, a) && ir::isInteger(a->type().dtype))
      if (const ir::Tensor* t = valueOf(a)) return t->numElements();
  }
  for (int i = 0; i < f.numArguments(); ++i) {
    const ir::Value* a = f.argument(i);
    if (isData(m, a) && a->type().rank() >= 1)
      if (const ir::Tensor* t = valueOf(a)) return t->shape()[0];
  }
  return 1;
}

StatusOr<std::map<std::string, int64_t>> symbolsFromInputs(
    const ir::Function& f, const std::map<std::string, ir::Tensor>& inputs) {
  std::map<std::string, int64_t> symbols;
  for (int i = 0; i < f.numArguments(); ++i) {
    const ir::Value* a = f.argument(i);
    auto it = inputs.find(a->name());
    if (it == inputs.end() || it->second.rank() != a->type().rank()) continue;
    for (int d = 0; d < a->type().rank(); ++d) {
      std::optional<std::string> sym = a->type().shape[d].asSymbol();
      if (!sym) continue;
      const int64_t size = it->second.shape()[d];
      auto [pos, inserted] = symbols.emplace(*sym, size);
      if (!inserted && pos->second != size)
        return Status::error("argument %" + a->name() + " binds symbol " + *sym + " to " +
                             std::to_string(size) + ", another input bound it to " +
                             std::to_string(pos->second));
    }
  }
  return symbols;
}

}  // namespace tessera::launcher
