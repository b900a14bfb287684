// Activation checkpointing on GPT-base, measured in one process: remat `auto` at a memory budget
// against no remat, their training steps interleaved (A B A B ...), so both sides see the same
// host state. Issue 4 asks: at half the no-remat activation bytes at most 10% slower, at a third
// at most 20% slower, and the whole curve down to the smallest feasible budget.
//
// Why in one process: on the shared 2-core host the same `tessera train` command moved between
// 4.5 and 6.8 s per GPT-base step across processes minutes apart (closing note 14), more than the
// effect measured. Here both engines live side by side, one step of each alternates, and each
// pair's ratio B/A compares steps seconds apart.
//
// What it builds, the way `tessera train` does (launcher/TrainCommand.cpp): the zoo GPT, the
// training step (AdamW defaults; A as the CLI runs without --remat, B with early updates as the
// CLI runs under any --remat), B's remat pass planned against the engine's buffer plan
// (launcher/RematChoice.h), then each compiled (codegen/Engine.h) with parameters and optimizer
// state aliased in place. Budgets: the no-remat planned peak minus a fraction of its activation
// bytes (engine memory report, as bench/remat_curve.py), and the smallest feasible budget (the
// remat pass's error states it). One baseline engine is kept; the remat engine is rebuilt per
// budget; for every budget both start from the zoo's initial weights (A's are reset), step k
// uses batch k on both sides, and every step's loss must be bitwise equal on both sides (remat
// never changes results) — a mismatch stops the run.
//
//   build-h2/bench/remat_ab [--pairs 8] [--fractions 0.75,0.5,0.3333,0.25] [--no-minimum]
//                           [--layers 12 --hidden 768 --heads 12 --seq 256 --batch 4 --vocab 512]
//                           [--smoke]   (a tiny GPT: checks the program, timings mean nothing)
//                           [--plan-only]  (the remat plans per budget; nothing compiled or timed)
//
// Runtime on a quiet host, GPT-base, defaults: per budget ~15 s planning + (1 + pairs) * 2
// steps of ~5 s; five budgets at 8 pairs ~ 13 min. Progress lines go to stderr, results to stdout.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "codegen/Engine.h"
#include "frontend/Zoo.h"
#include "launcher/RematChoice.h"
#include "passes/remat/RematPass.h"
#include "passes/training/TrainStep.h"

namespace {

using namespace tessera;
using Clock = std::chrono::steady_clock;
const Clock::time_point kStart = Clock::now();

void progress(const std::string& msg) {
  std::fprintf(stderr, "[%5.0f s] %s\n",
               std::chrono::duration<double>(Clock::now() - kStart).count(), msg.c_str());
}

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "remat_ab: %s\n", msg.c_str());
  std::exit(1);
}

template <typename T>
T orDie(StatusOr<T> s, const std::string& what) {
  if (!s.isOk()) fail(what + ": " + s.status().message());
  return std::move(*s);
}

struct Args {
  std::map<std::string, std::string> model{{"layers", "12"}, {"hidden", "768"}, {"heads", "12"},
                                           {"seq", "256"},   {"vocab", "512"}};
  int64_t batch = 4;
  int pairs = 8;
  std::vector<double> fractions{0.75, 0.5, 1.0 / 3, 0.25};
  bool minimum = true;
  bool planOnly = false;  // plan every budget, compile and time nothing
};

Args parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail(k + ": expected a value");
      return argv[++i];
    };
    if (k == "--smoke") {
      a.model = {{"layers", "3"}, {"hidden", "64"}, {"heads", "2"}, {"seq", "64"}, {"vocab", "256"}};
      a.pairs = 3;
    } else if (k == "--pairs") {
      a.pairs = std::atoi(value().c_str());
    } else if (k == "--batch") {
      a.batch = std::atoll(value().c_str());
    } else if (k == "--plan-only") {
      a.planOnly = true;
    } else if (k == "--no-minimum") {
      a.minimum = false;
    } else if (k == "--fractions") {
      a.fractions.clear();
      std::string v = value();
      for (size_t p = 0; p <= v.size();) {
        size_t q = v.find(',', p);
        if (q == std::string::npos) q = v.size();
        if (q > p) a.fractions.push_back(std::atof(v.substr(p, q - p).c_str()));
        p = q + 1;
      }
    } else if (k == "--layers" || k == "--hidden" || k == "--heads" || k == "--seq" ||
               k == "--vocab") {
      a.model[k.substr(2)] = value();
    } else {
      fail("unknown argument '" + k + "' (see the top of bench/remat_ab.cpp)");
    }
  }
  if (a.pairs < 1 || a.batch < 1) fail("--pairs and --batch must be >= 1");
  for (double f : a.fractions)
    if (!(f > 0 && f < 1)) fail("--fractions: each must be in (0, 1)");
  return a;
}

// One side of the A/B: a module with its training step and the engine running it.
struct Side {
  std::unique_ptr<ir::Module> module;
  passes::TrainStepInfo info;
  std::unique_ptr<codegen::Engine> engine;
  std::vector<std::string> carried() const {
    std::vector<std::string> c = info.params;
    c.insert(c.end(), info.state.begin(), info.state.end());
    return c;
  }
};

Side buildStep(const Args& a, bool earlyUpdates) {
  Side s;
  s.module = orDie(frontend::buildZooModel("gpt", a.model), "zoo gpt");
  passes::TrainStepOptions ts;
  ts.earlyUpdates = earlyUpdates;
  s.info = orDie(passes::buildTrainStep(*s.module, ts), "train-step");
  return s;
}

void compile(Side& s) {
  codegen::EngineOptions eo;
  eo.parameters.insert(s.info.params.begin(), s.info.params.end());
  eo.optimizerState.insert(s.info.state.begin(), s.info.state.end());
  s.engine = orDie(codegen::Engine::compile(*s.module, s.info.function, eo), "engine");
  std::vector<std::string> c = s.carried();
  for (size_t i = 0; i < c.size(); ++i)
    if (Status st = s.engine->aliasResult(static_cast<int>(i + 1), c[i]); !st.isOk())
      fail("alias: " + st.message());
}

// Back to the module's initial parameters and optimizer state (the engine never writes them).
void reset(Side& s) {
  for (const std::string& n : s.carried()) {
    const ir::Parameter* p = s.module->findParam(n);
    if (!p || !p->init) fail("no initial value for " + n);
    if (Status st = s.engine->setArgument(n, *p->init); !st.isOk()) fail(st.message());
  }
}

// Batch k: the same tokens and targets on both sides.
std::map<std::string, ir::Tensor> batch(const Args& a, int k) {
  const int64_t S = std::stoll(a.model.at("seq")), V = std::stoll(a.model.at("vocab"));
  std::mt19937_64 rng(1000 + k);
  std::vector<double> t(a.batch * S), y(a.batch * S);
  for (double& x : t) x = static_cast<double>(rng() % V);
  for (double& x : y) x = static_cast<double>(rng() % V);
  return {{"tokens", ir::Tensor(ir::DType::I64, {a.batch, S}, t)},
          {"targets", ir::Tensor(ir::DType::I64, {a.batch, S}, y)}};
}

struct StepResult {
  double seconds = 0;
  double loss = 0;
};

StepResult step(Side& s, const std::map<std::string, ir::Tensor>& inputs) {
  const Clock::time_point t0 = Clock::now();
  std::vector<ir::Tensor> r = orDie(s.engine->run(inputs), "step");
  return {std::chrono::duration<double>(Clock::now() - t0).count(), r[0][0]};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string plan(const passes::RematOutcome& o) {
  std::string p;
  for (passes::RematChoice c : o.choices) p += passes::rematChoiceLetter(c);
  return p;
}

struct Row {
  std::string label;
  int64_t budget = 0;
  int64_t plannedPeak = 0;  // the remat pass's (engine buffer plan)
  int64_t reportPeak = 0;   // the compiled remat engine's memory report
  int64_t measuredPeak = 0; // its runtime allocator after the run
  std::string plan;
  double gflop = 0, estMs = 0;
  std::vector<double> ratios, neighbour, a, b;
  std::string error;
};

// One budget: plan and compile B, reset A, warm up both, then `pairs` timed pairs.
Row measure(const Args& a, Side& base, const std::map<std::string, int64_t>& symbols,
            int64_t budget, const std::string& label) {
  Row row;
  row.label = label;
  row.budget = budget;
  progress(label + ": planning remat auto at a budget of " + std::to_string(budget) + " bytes");
  Side r = buildStep(a, true);
  StatusOr<passes::RematOutcome> o =
      launcher::applyRematChoice(*r.module, r.info, passes::RematMode::Auto, budget, symbols);
  if (!o.isOk()) {
    row.error = o.status().message();
    progress(label + ": " + row.error);
    return row;
  }
  row.plannedPeak = o->peak;
  row.plan = plan(*o);
  row.gflop = static_cast<double>(o->flops) / 1e9;
  row.estMs = static_cast<double>(o->nanos) / 1e6;
  progress(label + ": " + launcher::rematSummary(*o, budget) + (a.planOnly ? "" : "; compiling"));
  if (a.planOnly) return row;
  compile(r);
  row.reportPeak = orDie(r.engine->memoryReport(symbols), "memory report").peakBytes;
  reset(base);
  std::vector<double> lossesA, lossesB;
  for (int k = 0; k <= a.pairs; ++k) {
    const auto in = batch(a, k);
    StepResult sa = step(base, in);
    StepResult sb = step(r, in);
    if (std::bit_cast<uint64_t>(sa.loss) != std::bit_cast<uint64_t>(sb.loss)) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%s, step %d: loss %.17g without remat, %.17g with: remat "
                    "changed the result", label.c_str(), k + 1, sa.loss, sb.loss);
      fail(buf);
    }
    if (k == 0) {  // warm-up: first-touch of the arena, kernel loading
      char buf[120];
      std::snprintf(buf, sizeof buf, "%s: warm-up %.3f s / %.3f s, losses equal", label.c_str(),
                    sa.seconds, sb.seconds);
      progress(buf);
      continue;
    }
    row.a.push_back(sa.seconds);
    row.b.push_back(sb.seconds);
    row.ratios.push_back(sb.seconds / sa.seconds);
    char buf[200];
    std::snprintf(buf, sizeof buf, "  %-8s pair %2d: no remat %.3f s, remat %.3f s, B/A %.4f "
                  "(%+.1f%%), loss %.6f (bitwise equal)", label.c_str(), k, sa.seconds,
                  sb.seconds, sb.seconds / sa.seconds, 100 * (sb.seconds / sa.seconds - 1),
                  sa.loss);
    std::printf("%s\n", buf);
    std::fflush(stdout);
  }
  // B over the mean of the A steps either side of it: cancels a drift that is linear in time.
  for (size_t i = 0; i + 1 < row.a.size(); ++i)
    row.neighbour.push_back(row.b[i] / ((row.a[i] + row.a[i + 1]) / 2));
  row.measuredPeak = r.engine->measuredPeakBytes();
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s: median B/A %+.1f%% [%+.1f..%+.1f] over %zu pairs",
                label.c_str(), 100 * (median(row.ratios) - 1),
                100 * (*std::min_element(row.ratios.begin(), row.ratios.end()) - 1),
                100 * (*std::max_element(row.ratios.begin(), row.ratios.end()) - 1),
                row.ratios.size());
  progress(buf);
  return row;
}

// The smallest feasible budget, as the remat pass states it for an impossible one.
int64_t minimumBudget(const Args& a, const std::map<std::string, int64_t>& symbols) {
  Side r = buildStep(a, true);
  StatusOr<passes::RematOutcome> o =
      launcher::applyRematChoice(*r.module, r.info, passes::RematMode::Auto, 1, symbols);
  if (o.isOk()) fail("a budget of 1 byte was met?");
  const std::string msg = o.status().message();
  const std::string key = "minimum feasible planned peak of @" + r.info.function + " is ";
  const size_t at = msg.find(key);
  if (at == std::string::npos) fail("no minimum in the remat error: " + msg);
  return std::atoll(msg.c_str() + at + key.size());
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parseArgs(argc, argv);
  for (const char* v : {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"})
    if (std::getenv(v)) progress(std::string("warning: ") + v + " is set (issue 4 wants it unset)");
  std::string modelText;
  for (const auto& [k, v] : a.model) modelText += " --" + k + " " + v;
  progress("gpt" + modelText + " --batch " + std::to_string(a.batch) + ": " +
           std::to_string(a.pairs) + " timed pairs per budget after one warm-up pair");

  Side base = buildStep(a, false);
  compile(base);
  const std::map<std::string, int64_t> symbols =
      orDie(base.engine->symbolsFor(batch(a, 0)), "symbols");
  const codegen::MemoryReport rep = orDie(base.engine->memoryReport(symbols), "memory report");
  const int64_t peak0 = rep.peakBytes;
  const int64_t act0 = rep.bytesByCategory[static_cast<int>(codegen::MemCategory::Activation)];
  progress("no remat: planned peak " + std::to_string(peak0) + " bytes, activations " +
           std::to_string(act0) + " bytes");

  std::vector<std::pair<int64_t, std::string>> budgets;
  for (double f : a.fractions) {
    char label[32];
    std::snprintf(label, sizeof label, "%.2f", f);
    budgets.emplace_back(peak0 - act0 + static_cast<int64_t>(f * static_cast<double>(act0)), label);
  }
  if (a.minimum) {
    progress("finding the smallest feasible budget");
    budgets.emplace_back(minimumBudget(a, symbols), "minimum");
  }

  const int64_t minimum = a.minimum ? budgets.back().first : 0;
  std::vector<Row> rows;
  for (const auto& [budget, label] : budgets) {
    if (budget < minimum) {  // known infeasible: no need to plan it again
      Row r;
      r.label = label;
      r.budget = budget;
      r.error = "below the smallest feasible budget (" + std::to_string(minimum) + " bytes)";
      rows.push_back(r);
      continue;
    }
    rows.push_back(measure(a, base, symbols, budget, label));
  }

  if (a.planOnly) {
    std::printf("%-8s %14s %14s %-14s %9s %8s\n", "fraction", "budget bytes", "planned peak",
                "plan", "recompute", "est. ms");
    for (const Row& r : rows)
      std::printf("%-8s %14lld %14lld %-14s %6.1f GF %8.0f %s\n", r.label.c_str(),
                  static_cast<long long>(r.budget), static_cast<long long>(r.plannedPeak),
                  r.plan.c_str(), r.gflop, r.estMs, r.error.c_str());
    progress("done (--plan-only)");
    return 0;
  }
  std::vector<double> allA;
  for (const Row& r : rows) allA.insert(allA.end(), r.a.begin(), r.a.end());
  std::printf("\nremat auto vs no remat, in one process, steps interleaved (A B A B ...); "
              "%d timed pairs per budget after one warm-up pair; losses bitwise equal at every step\n",
              a.pairs);
  std::printf("gpt%s --batch %lld; no remat: planned peak %lld bytes, activations %lld bytes, "
              "step %.3f s median [%.3f..%.3f] over %zu steps\n",
              modelText.c_str(), static_cast<long long>(a.batch), static_cast<long long>(peak0),
              static_cast<long long>(act0), allA.empty() ? 0.0 : median(allA),
              allA.empty() ? 0.0 : *std::min_element(allA.begin(), allA.end()),
              allA.empty() ? 0.0 : *std::max_element(allA.begin(), allA.end()), allA.size());
  std::printf("%-8s %14s %14s %14s %14s %-14s %9s %8s  %-26s %s\n", "fraction", "budget bytes",
              "planned peak", "engine report", "measured peak", "plan", "recompute", "est. ms",
              "B/A median [min..max]", "B/mean(A either side)");
  for (const Row& r : rows) {
    if (!r.error.empty()) {
      std::printf("%-8s %14lld  %s\n", r.label.c_str(), static_cast<long long>(r.budget),
                  r.error.c_str());
      continue;
    }
    char ab[64], nb[48] = "-";
    std::snprintf(ab, sizeof ab, "%+.1f%% [%+.1f..%+.1f]", 100 * (median(r.ratios) - 1),
                  100 * (*std::min_element(r.ratios.begin(), r.ratios.end()) - 1),
                  100 * (*std::max_element(r.ratios.begin(), r.ratios.end()) - 1));
    if (!r.neighbour.empty()) std::snprintf(nb, sizeof nb, "%+.1f%%", 100 * (median(r.neighbour) - 1));
    std::printf("%-8s %14lld %14lld %14lld %14lld %-14s %6.1f GF %8.0f  %-26s %s\n", r.label.c_str(),
                static_cast<long long>(r.budget), static_cast<long long>(r.plannedPeak),
                static_cast<long long>(r.reportPeak), static_cast<long long>(r.measuredPeak),
                r.plan.c_str(), r.gflop, r.estMs, ab, nb);
  }
  std::fflush(stdout);
  progress("done");
  return 0;
}
