// The `remat` pass (RematPass.h): options, then one of the modes on the training step.
#include "passes/remat/RematPass.h"

#include <cctype>
#include <charconv>
#include <set>

#include "ir/Module.h"
#include "passes/memory/MemoryPlan.h"
#include "passes/remat/RematApply.h"
#include "passes/remat/RematLayers.h"
#include "passes/remat/RematSolver.h"

namespace tessera::passes {

namespace {

std::optional<int64_t> parsePositive(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

bool isIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

Status failAt(const ir::Function& f, const std::string& message) {
  return f.loc.known() ? Status::error(f.loc, message) : Status::error(message);
}

std::string symbolText(const std::map<std::string, int64_t>& symbols) {
  std::string out;
  for (const auto& [k, v] : symbols) out += (out.empty() ? "" : ", ") + k + "=" + std::to_string(v);
  return out;
}

// Every symbol a shape of `f` mentions must have a value.
Status checkSymbols(const ir::Function& f, const std::map<std::string, int64_t>& symbols) {
  std::set<std::string> used;
  auto note = [&](const ir::Value* v) {
    for (const ir::Dim& d : v->type().shape)
      for (const std::string& s : d.symbols()) used.insert(s);
  };
  for (int i = 0; i < f.numArguments(); ++i) note(f.argument(i));
  for (const auto& op : f.ops())
    for (int r = 0; r < op->numResults(); ++r) note(op->result(r));
  for (const std::string& s : used)
    if (!symbols.count(s))
      return failAt(f, "remat{mode=auto}: the budget is in bytes at concrete sizes, but symbol " +
                           s + " has no value; give it as an option, e.g. remat{mode=auto,budget=" +
                           "...," + s + "=8}");
  return Status::ok();
}

StatusOr<bool> runAuto(ir::Function& f, const RematLayers& layers, const RematOptions& o) {
  if (!o.budget)
    return failAt(f, "remat{mode=auto} needs a memory budget: remat{mode=auto,budget=BYTES,...}");
  TRY(checkSymbols(f, o.symbols));
  TRY_ASSIGN(RematCosts costs, measureRematCosts(f, layers, o.symbols));
  std::optional<RematSolution> best = solveMinRecompute(costs, *o.budget);
  if (!best) {
    int64_t minimum = 0;
    if (layers.layers.empty()) {
      TRY_ASSIGN(minimum, plannedPeak(f, o.symbols));
    } else {
      minimum = solveMinPeak(costs).peak;
    }
    return failAt(f, "remat: the memory budget of " + std::to_string(*o.budget) +
                         " bytes cannot be met: the minimum feasible planned peak of @" +
                         f.name() + " is " + std::to_string(minimum) + " bytes (at " +
                         symbolText(o.symbols) + ")");
  }
  // Check the plan on a copy before the real function changes: its real planned peak must be
  // the predicted one (RematSolver.h explains why they agree).
  TRY_ASSIGN(FunctionCopy copy, copyFunction(f));
  TRY(applyRemat(*copy.function, layers, best->choices, &o.symbols).status());
  TRY_ASSIGN(int64_t real, plannedPeak(*copy.function, o.symbols));
  if (real != best->peak || real > *o.budget)
    return failAt(f, "remat: internal error: the plan's planned peak is " + std::to_string(real) +
                         " bytes, predicted " + std::to_string(best->peak));
  TRY_ASSIGN(RematApplied applied, applyRemat(f, layers, best->choices, &o.symbols));
  return !applied.clones.empty();
}

}  // namespace

Status RematPass::setOption(std::string_view key, std::string_view value) {
  if (key == "mode") {
    StatusOr<RematMode> mode = parseRematMode(value);
    if (!mode.isOk()) return Status::error("remat: " + mode.status().message());
    options_.mode = *mode;
    return Status::ok();
  }
  if (key == "budget") {
    std::optional<int64_t> b = parsePositive(value);
    if (!b)
      return Status::error("remat: budget '" + std::string(value) +
                           "' is not a positive number of bytes");
    options_.budget = *b;
    return Status::ok();
  }
  if (key == "function") {
    if (value.empty()) return Status::error("remat: function needs a name");
    options_.function = std::string(value);
    return Status::ok();
  }
  if (!isIdentifier(key))
    return Status::error("remat: unknown option '" + std::string(key) +
                         "' (options: mode, budget, function, or a symbol such as B=4)");
  std::optional<int64_t> v = parsePositive(value);
  if (!v)
    return Status::error("remat: symbol " + std::string(key) + "='" + std::string(value) +
                         "' is not a positive integer");
  options_.symbols[std::string(key)] = *v;
  return Status::ok();
}

StatusOr<bool> RematPass::run(ir::Module& m) { return runRemat(m, options_); }

StatusOr<RematMode> parseRematMode(std::string_view name) {
  if (name == "none") return RematMode::None;
  if (name == "selective") return RematMode::Selective;
  if (name == "full") return RematMode::Full;
  if (name == "auto") return RematMode::Auto;
  return Status::error("mode '" + std::string(name) + "' is not one of none, selective, full, auto");
}

StatusOr<bool> runRemat(ir::Module& m, const RematOptions& o) {
  for (const auto& [sym, v] : o.symbols)
    if (!m.findSymbol(sym))
      return Status::error("remat: unknown option or symbol '" + sym +
                           "' (options: mode, budget, function; symbols of @" + m.name +
                           " are given by name)");
  ir::Function* f = m.findFunction(o.function);
  if (!f)
    return Status::error("remat: the module has no function @" + o.function +
                         " (run train-step first, or name one with function=...)");
  if (o.mode == RematMode::None) return false;
  RematLayers layers = findRematLayers(*f);
  if (o.mode == RematMode::Auto) return runAuto(*f, layers, o);
  if (layers.layers.empty()) return false;
  RematChoice c = o.mode == RematMode::Full ? RematChoice::Full : RematChoice::Selective;
  std::vector<RematChoice> choices(layers.layers.size(), c);
  TRY_ASSIGN(RematApplied applied, applyRemat(*f, layers, choices, nullptr));
  return !applied.clones.empty();
}

}  // namespace tessera::passes
