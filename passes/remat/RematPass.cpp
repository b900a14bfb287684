// The `remat` pass (RematPass.h): options, then one of the modes on the training step.
#include "passes/remat/RematPass.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <set>

#include "ir/Module.h"
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

// How many whole plans auto measures before falling back to the lowest-peak plan.
constexpr int kMaxChecks = 12;

StatusOr<bool> runAuto(ir::Function& f, const RematLayers& layers, const RematOptions& o,
                       RematOutcome* outcome) {
  if (!o.budget)
    return failAt(f, "remat{mode=auto} needs a memory budget: remat{mode=auto,budget=BYTES,...}");
  TRY(checkSymbols(f, o.symbols));
  const EstimatorMemoryModel estimator;
  const RematMemoryModel& model = o.memory ? *o.memory : estimator;
  const int64_t budget = *o.budget;
  TRY_ASSIGN(RematCosts costs, measureRematCosts(f, layers, o.symbols, model, o.rates));
  // The model's peak of the step transformed by `choices` (on a copy), remembered per plan.
  std::map<std::vector<RematChoice>, int64_t> measured;
  auto realPeak = [&](const std::vector<RematChoice>& choices) -> StatusOr<int64_t> {
    if (auto it = measured.find(choices); it != measured.end()) return it->second;
    TRY_ASSIGN(FunctionCopy copy, copyFunction(f));
    TRY(applyRemat(*copy.function, layers, choices, &o.symbols).status());
    TRY_ASSIGN(RematMemoryCurve c, model.measure(*copy.function, o.symbols));
    measured[choices] = c.peak;
    return c.peak;
  };
  // (estimated nanoseconds, FLOPs): the objective, compared in that order.
  auto costOf = [&](const std::vector<RematChoice>& choices) {
    std::pair<int64_t, int64_t> total{0, 0};
    for (size_t l = 0; l < choices.size(); ++l) {
      total.first += costs.layers[l][static_cast<int>(choices[l])].nanos;
      total.second += costs.layers[l][static_cast<int>(choices[l])].flops;
    }
    return total;
  };
  // The DP at a target; when the whole plan misses the budget by more than the DP predicted,
  // lower the target by that miss (at least one byte) and solve again. Once some target gives a
  // plan that fits, the targets between it and the lowest target that missed are bisected: the
  // first lowering overshoots by however much fragmentation the miss showed, and a plan between
  // may fit for less recompute. Every measured plan is remembered; the cheapest that fits wins.
  std::optional<RematSolution> chosen;
  int64_t chosenPeak = 0;
  auto consider = [&](const std::vector<RematChoice>& plan, int64_t real) {
    if (real > budget) return;
    const auto cost = costOf(plan);
    const std::pair<int64_t, int64_t> have =
        chosen ? std::make_pair(chosen->nanos, chosen->flops) : std::make_pair(0L, 0L);
    if (!chosen || cost < have || (cost == have && real < chosenPeak)) {
      chosen = RematSolution{plan, predictedPeak(costs, plan), cost.second, cost.first};
      chosenPeak = real;
    }
  };
  int64_t target = budget;
  std::optional<int64_t> fitTarget, missTarget;
  for (int attempt = 0; attempt < kMaxChecks; ++attempt) {
    std::optional<RematSolution> s = solveMinRecompute(costs, target);
    if (!s) break;
    TRY_ASSIGN(int64_t real, realPeak(s->choices));
    consider(s->choices, real);
    if (real <= budget) {
      fitTarget = target;
      if (!missTarget) break;  // the DP's plan at the budget itself fits: optimal
    } else {
      missTarget = target;
    }
    int64_t next = fitTarget ? *fitTarget + (*missTarget - *fitTarget) / 2
                             : std::min(target - 1, budget - (real - s->peak));
    if (fitTarget && next <= *fitTarget) break;  // nothing left between a fit and a miss
    target = next;
  }
  if (!chosen) {
    // A fixed set of low-memory plans decides: the DP's lowest-peak plan and the uniform ones.
    // The cheapest measured plan that fits is taken; if none does, the lowest real peak of the
    // fixed set is the minimum to state — a budget of that size is then met by that plan.
    std::vector<std::vector<RematChoice>> fixed{solveMinPeak(costs).choices};
    for (RematChoice c : {RematChoice::Full, RematChoice::Selective})
      fixed.emplace_back(layers.layers.size(), c);
    int64_t minimum = std::numeric_limits<int64_t>::max();
    for (const auto& plan : fixed) {
      TRY_ASSIGN(int64_t real, realPeak(plan));
      minimum = std::min(minimum, real);
    }
    for (const auto& [plan, real] : measured) consider(plan, real);
    if (!chosen)
      return failAt(f, "remat: the memory budget of " + std::to_string(budget) +
                           " bytes cannot be met: the minimum feasible planned peak of @" +
                           f.name() + " is " + std::to_string(minimum) + " bytes (at " +
                           symbolText(o.symbols) + ") by " + model.name());
  }
  const int checks = static_cast<int>(measured.size());
  TRY_ASSIGN(RematApplied applied,
             applyRemat(f, layers, chosen->choices, &o.symbols, o.rates));
  if (outcome) {
    outcome->layers.clear();
    for (const RematLayer& l : layers.layers) outcome->layers.push_back(l.index);
    outcome->choices = chosen->choices;
    outcome->predictedPeak = chosen->peak;
    outcome->peak = chosenPeak;
    outcome->flops = applied.flops;
    outcome->nanos = applied.nanos;
    outcome->checks = checks;
  }
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
  if (key == "gemm_gflops" || key == "bandwidth_gbs") {
    double v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size() || !(v > 0) || v > 1e9)
      return Status::error("remat: " + std::string(key) + " '" + std::string(value) +
                           "' is not a positive rate (GFLOP/s or GB/s)");
    (key == "gemm_gflops" ? options_.rates.gemmFlopsPerSecond : options_.rates.bytesPerSecond) =
        v * 1e9;
    return Status::ok();
  }
  if (key == "function") {
    if (value.empty()) return Status::error("remat: function needs a name");
    options_.function = std::string(value);
    return Status::ok();
  }
  if (!isIdentifier(key))
    return Status::error("remat: unknown option '" + std::string(key) +
                         "' (options: mode, budget, function, gemm_gflops, bandwidth_gbs, or a "
                         "symbol such as B=4)");
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

StatusOr<bool> runRemat(ir::Module& m, const RematOptions& o) { return runRemat(m, o, nullptr); }

StatusOr<bool> runRemat(ir::Module& m, const RematOptions& o, RematOutcome* outcome) {
  for (const auto& [sym, v] : o.symbols)
    if (!m.findSymbol(sym))
      return Status::error("remat: unknown option or symbol '" + sym +
                           "' (options: mode, budget, function, gemm_gflops, bandwidth_gbs; "
                           "symbols of @" + m.name + " are given by name)");
  ir::Function* f = m.findFunction(o.function);
  if (!f)
    return Status::error("remat: the module has no function @" + o.function +
                         " (run train-step first, or name one with function=...)");
  if (o.mode == RematMode::None) return false;
  RematLayers layers = findRematLayers(*f);
  if (o.mode == RematMode::Auto) return runAuto(*f, layers, o, outcome);
  if (layers.layers.empty()) return false;
  RematChoice c = o.mode == RematMode::Full ? RematChoice::Full : RematChoice::Selective;
  std::vector<RematChoice> choices(layers.layers.size(), c);
  TRY_ASSIGN(RematApplied applied, applyRemat(*f, layers, choices, nullptr));
  return !applied.clones.empty();
}

}  // namespace tessera::passes
