// Activation checkpointing on the zoo's GPT and MoE-GPT training steps: planned peaks by mode,
// auto against brute force over every menu combination, the infeasible-budget error, and
// bitwise-equal training with and without remat.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <set>

#include "RematTestUtil.h"
#include "ir/Verifier.h"
#include "passes/memory/MemoryPlan.h"
#include "passes/remat/RematApply.h"
#include "passes/remat/RematPass.h"
#include "passes/remat/RematSolver.h"

namespace tessera::remat_test {
namespace {

using passes::RematChoice;
using passes::RematMode;
using passes::RematOptions;

const std::map<std::string, int64_t> kSyms{{"B", 2}, {"S", 32}};

int64_t peakOf(const ir::Function& f) {
  StatusOr<int64_t> p = passes::plannedPeak(f, kSyms);
  EXPECT_TRUE(p.isOk()) << p.status().message();
  return p.isOk() ? *p : -1;
}

Status remat(Model& m, RematMode mode, std::optional<int64_t> budget = std::nullopt) {
  RematOptions o;
  o.mode = mode;
  o.budget = budget;
  o.symbols = kSyms;
  StatusOr<bool> r = passes::runRemat(*m.module, o);
  if (!r.isOk()) return r.status();
  Status v = ir::verifyModule(*m.module);
  EXPECT_TRUE(v.isOk()) << v.message();
  return Status::ok();
}

TEST(Remat, FindsTheZooLayers) {
  Model m = buildModel("gpt", smallGpt(2));
  passes::RematLayers layers = passes::findRematLayers(*m.step());
  ASSERT_EQ(layers.layers.size(), 2u);
  for (const passes::RematLayer& L : layers.layers) {
    // Selective: 1 attention cluster (dot, scale, mask select, softmax) + 1 GELU + the layer's
    // two layer norms (their inputs are stored for their gradients anyway).
    std::multiset<std::string> kinds;
    for (int i : L.selective) kinds.insert(m.step()->ops()[i]->mnemonic());
    EXPECT_EQ(kinds, (std::multiset<std::string>{"dot", "mul", "select", "softmax", "gelu",
                                                 "layer_norm", "layer_norm"}))
        << "layer " << L.index;
    EXPECT_GT(L.candidates.size(), L.selective.size());
    for (int i : L.candidates) EXPECT_FALSE(m.step()->ops()[i]->info().isCollective());
  }
}

TEST(Remat, PlannedPeakDecreasesNoneSelectiveFull) {
  std::map<RematMode, int64_t> peak;
  for (RematMode mode : {RematMode::None, RematMode::Selective, RematMode::Full}) {
    Model m = buildModel("gpt", smallGpt(2));
    ASSERT_TRUE(remat(m, mode).isOk());
    peak[mode] = peakOf(*m.step());
  }
  EXPECT_GT(peak[RematMode::None], peak[RematMode::Selective]);
  EXPECT_GT(peak[RematMode::Selective], peak[RematMode::Full]);
  // Selective drops at least one [B,heads,S,S] f32 tensor per layer below the first's backward.
  EXPECT_GE(peak[RematMode::None] - peak[RematMode::Selective], 2 * 4 * 32 * 32 * 4);
}

TEST(Remat, RecomputedForwardValuesHaveNoBackwardUses) {
  Model m = buildModel("gpt", smallGpt(2));
  passes::RematLayers before = passes::findRematLayers(*m.step());
  std::vector<const ir::Op*> softmaxes;
  for (const passes::RematLayer& L : before.layers)
    for (int i : L.selective)
      if (m.step()->ops()[i]->kind() == ir::OpKind::Softmax)
        softmaxes.push_back(m.step()->ops()[i].get());
  ASSERT_EQ(softmaxes.size(), 2u);
  ASSERT_TRUE(remat(m, RematMode::Selective).isOk());
  passes::RematLayers after = passes::findRematLayers(*m.step());
  for (const ir::Op* s : softmaxes) {
    ASSERT_FALSE(s->result(0)->uses().empty());
    for (const ir::Use& u : s->result(0)->uses())
      EXPECT_TRUE(after.forward[m.step()->indexOf(u.user)]) << "a backward op still reads it";
    // ... and its clone, named after it, is read by the backward.
    bool found = false;
    for (const auto& op : m.step()->ops())
      if (op->kind() == ir::OpKind::Softmax && op.get() != s &&
          op->result(0)->name() == s->result(0)->name() + ".remat")
        found = true;
    EXPECT_TRUE(found || s->result(0)->name().empty());
  }
}

struct Combo {
  std::vector<RematChoice> choices;
  int64_t peak = 0, flops = 0, nanos = 0;
  std::pair<int64_t, int64_t> cost() const { return {nanos, flops}; }  // auto's objective
};

// Every menu combination applied to a copy, with its real planned peak, FLOPs and estimated time
// (applyRemat's at `rates`: summed per cloned op independently of the DP).
std::vector<Combo> bruteForce(const ir::Function& f, const passes::RematLayers& layers,
                              const passes::RecomputeRates& rates = {}) {
  std::vector<Combo> out;
  const size_t L = layers.layers.size();
  size_t total = 1;
  const size_t n = passes::kRematMenuSize;
  for (size_t i = 0; i < L; ++i) total *= n;
  for (size_t code = 0; code < total; ++code) {
    Combo c;
    size_t x = code;
    for (size_t i = 0; i < L; ++i, x /= n) c.choices.push_back(passes::kRematMenu[x % n]);
    StatusOr<passes::FunctionCopy> copy = passes::copyFunction(f);
    EXPECT_TRUE(copy.isOk());
    StatusOr<passes::RematApplied> a =
        passes::applyRemat(*copy->function, layers, c.choices, &kSyms, rates);
    EXPECT_TRUE(a.isOk()) << a.status().message();
    c.flops = a->flops;
    c.nanos = a->nanos;
    c.peak = peakOf(*copy->function);
    out.push_back(c);
  }
  return out;
}

std::optional<Combo> cheapestFitting(const std::vector<Combo>& all, int64_t budget) {
  std::optional<Combo> best;
  for (const Combo& c : all)
    if (c.peak <= budget && (!best || c.cost() < best->cost())) best = c;
  return best;
}

TEST(Remat, AutoIsTheMinimumRecomputeUnderTheBudgetByBruteForce) {
  Model m = buildModel("gpt", smallGpt(3));
  const ir::Function& f = *m.step();
  passes::RematLayers layers = passes::findRematLayers(f);
  ASSERT_EQ(layers.layers.size(), 3u);
  std::vector<Combo> all = bruteForce(f, layers);
  ASSERT_EQ(all.size(), 216u);  // keep, selective, full, mlp, attn, attn+mlp on each of 3 layers
  StatusOr<passes::RematCosts> costs = passes::measureRematCosts(f, layers, kSyms);
  ASSERT_TRUE(costs.isOk()) << costs.status().message();
  // The measured decomposition predicts every combination's real planned peak exactly.
  for (const Combo& c : all) EXPECT_EQ(passes::predictedPeak(*costs, c.choices), c.peak);

  std::set<int64_t> budgets;
  for (const Combo& c : all) {
    budgets.insert(c.peak);
    budgets.insert(c.peak + 1000);
  }
  int solvedBetween = 0;
  for (int64_t budget : budgets) {
    std::optional<Combo> want = cheapestFitting(all, budget);
    std::optional<passes::RematSolution> got = passes::solveMinRecompute(*costs, budget);
    ASSERT_EQ(want.has_value(), got.has_value()) << "budget " << budget;
    if (!want) continue;
    EXPECT_EQ(std::make_pair(got->nanos, got->flops), want->cost()) << "budget " << budget;
    EXPECT_LE(got->peak, budget);
    // The chosen plan's real peak (from the brute-force table) is the predicted one.
    for (const Combo& c : all)
      if (c.choices == got->choices) {
        EXPECT_EQ(c.peak, got->peak);
      }
    if (want->flops > 0) ++solvedBetween;
  }
  EXPECT_GT(solvedBetween, 5);  // budgets that force some, but not all, recompute were tried

  // The pass itself, at a budget between "everything selective" and "everything full".
  const size_t n = passes::kRematMenuSize, sel = 1 * (1 + n + n * n), full = 2 * (1 + n + n * n);
  int64_t allSelective = all[sel].peak, allFull = all[full].peak;  // codes 111 and 222 in base n
  ASSERT_EQ(all[sel].choices, std::vector<RematChoice>(3, RematChoice::Selective));
  ASSERT_EQ(all[full].choices, std::vector<RematChoice>(3, RematChoice::Full));
  ASSERT_GT(allSelective, allFull);
  int64_t budget = (allSelective + allFull) / 2;
  std::optional<Combo> want = cheapestFitting(all, budget);
  ASSERT_TRUE(want);
  ASSERT_TRUE(remat(m, RematMode::Auto, budget).isOk());
  EXPECT_LE(peakOf(*m.step()), budget);
  EXPECT_EQ(peakOf(*m.step()), passes::solveMinRecompute(*costs, budget)->peak);
}

// The pass minimizes time at the rates it is given: with GEMMs nearly free and a slow memory
// (selective's softmax/GELU kernels dominate), and with the opposite, the pass's plan costs what
// the cheapest fitting plan of the brute force costs at those rates; and the two rate settings
// do pick different plans at some budget (FLOPs alone could not tell them apart).
TEST(Remat, AutoMinimizesTimeAtTheGivenRates) {
  Model probe = buildModel("gpt", smallGpt(2));
  passes::RematLayers layers = passes::findRematLayers(*probe.step());
  passes::RecomputeRates memoryBound, gemmBound;
  memoryBound.gemmFlopsPerSecond = 1e15;
  memoryBound.bytesPerSecond = 1e8;
  gemmBound.gemmFlopsPerSecond = 1e8;
  gemmBound.bytesPerSecond = 1e15;
  const passes::RecomputeRates rateSets[2] = {memoryBound, gemmBound};
  const std::vector<Combo> all[2] = {bruteForce(*probe.step(), layers, memoryBound),
                                     bruteForce(*probe.step(), layers, gemmBound)};
  std::set<int64_t> budgets;
  for (const Combo& c : all[0]) budgets.insert(c.peak);
  int differ = 0;
  for (int64_t budget : budgets) {
    std::vector<RematChoice> picked[2];
    for (int i = 0; i < 2; ++i) {
      const passes::RecomputeRates& rates = rateSets[i];
      std::optional<Combo> want = cheapestFitting(all[i], budget);
      ASSERT_TRUE(want) << budget;  // every budget is some plan's peak
      Model m = buildModel("gpt", smallGpt(2));
      RematOptions o;
      o.mode = RematMode::Auto;
      o.budget = budget;
      o.symbols = kSyms;
      o.rates = rates;
      passes::RematOutcome out;
      StatusOr<bool> r = passes::runRemat(*m.module, o, &out);
      ASSERT_TRUE(r.isOk()) << r.status().message();
      EXPECT_EQ(std::make_pair(out.nanos, out.flops), want->cost()) << "budget " << budget;
      EXPECT_LE(peakOf(*m.step()), budget);
      picked[i] = out.choices;
    }
    differ += picked[0] != picked[1];
  }
  EXPECT_GT(differ, 0);
}

// A memory model whose plans near the budget fragment: a peak above `threshold` costs `penalty`
// more than the curve says (as an arena can). The DP's plan at the budget then misses, the first
// lowering (by the whole miss) overshoots, and bisecting the targets between must still find the
// cheapest plan that really fits — checked against brute force over every plan.
class FragmentingModel final : public passes::RematMemoryModel {
 public:
  FragmentingModel(int64_t threshold, int64_t penalty) : threshold_(threshold), penalty_(penalty) {}
  std::string name() const override { return "a fragmenting test model"; }
  StatusOr<passes::RematMemoryCurve> measure(
      const ir::Function& f, const std::map<std::string, int64_t>& symbols) const override {
    TRY_ASSIGN(passes::RematMemoryCurve c, passes::EstimatorMemoryModel().measure(f, symbols));
    if (c.peak > threshold_) c.peak += penalty_;
    return c;
  }

 private:
  int64_t threshold_, penalty_;
};

TEST(Remat, AutoBisectsTargetsAfterAMissToFindTheCheapestPlanThatFits) {
  Model probe = buildModel("gpt", smallGpt(3));
  passes::RematLayers layers = passes::findRematLayers(*probe.step());
  const std::vector<Combo> all = bruteForce(*probe.step(), layers);
  std::vector<int64_t> peaks;
  for (const Combo& c : all) peaks.push_back(c.peak);
  std::sort(peaks.begin(), peaks.end());
  peaks.erase(std::unique(peaks.begin(), peaks.end()), peaks.end());
  ASSERT_GE(peaks.size(), 8u);
  int improved = 0;
  for (size_t k = 4; k < peaks.size(); ++k) {
    const int64_t budget = peaks[k], threshold = peaks[k - 2];
    const int64_t penalty = budget - peaks[k - 4];
    auto real = [&](const Combo& c) { return c.peak > threshold ? c.peak + penalty : c.peak; };
    std::optional<Combo> want, naive;  // cheapest that fits; cheapest at the first lowering
    for (const Combo& c : all) {
      if (real(c) <= budget && (!want || c.cost() < want->cost())) want = c;
      if (c.peak <= peaks[k - 4] && (!naive || c.cost() < naive->cost())) naive = c;
    }
    ASSERT_TRUE(want);
    Model m = buildModel("gpt", smallGpt(3));
    RematOptions o;
    o.mode = RematMode::Auto;
    o.budget = budget;
    o.symbols = kSyms;
    o.memory = std::make_shared<FragmentingModel>(threshold, penalty);
    passes::RematOutcome out;
    StatusOr<bool> r = passes::runRemat(*m.module, o, &out);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(std::make_pair(out.nanos, out.flops), want->cost()) << "budget " << budget;
    EXPECT_LE(out.peak, budget);
    if (naive && want->cost() < naive->cost()) ++improved;
  }
  EXPECT_GT(improved, 0);  // some case where lowering by the whole miss alone was too expensive
}

TEST(Remat, InfeasibleBudgetStatesTheMinimum) {
  Model m = buildModel("gpt", smallGpt(2));
  passes::RematLayers layers = passes::findRematLayers(*m.step());
  std::vector<Combo> all = bruteForce(*m.step(), layers);
  int64_t minimum = std::numeric_limits<int64_t>::max();
  for (const Combo& c : all) minimum = std::min(minimum, c.peak);
  Status s = remat(m, RematMode::Auto, minimum - 1);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("budget of " + std::to_string(minimum - 1) + " bytes cannot be met"),
            std::string::npos) << s.message();
  EXPECT_NE(s.message().find("minimum feasible planned peak of @train_step is " +
                             std::to_string(minimum) + " bytes"),
            std::string::npos) << s.message();
  // Nothing changed; the minimum itself is feasible.
  Model fresh = buildModel("gpt", smallGpt(2));
  EXPECT_EQ(peakOf(*m.step()), peakOf(*fresh.step()));
  ASSERT_TRUE(remat(m, RematMode::Auto, minimum).isOk());
  EXPECT_EQ(peakOf(*m.step()), minimum);
}

TEST(Remat, OptionErrors) {
  Model m = buildModel("gpt", smallGpt(1));
  RematOptions o;
  o.mode = RematMode::Auto;
  StatusOr<bool> r = passes::runRemat(*m.module, o);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("needs a memory budget"), std::string::npos);
  o.budget = 1000000;
  o.symbols = {{"B", 2}};
  r = passes::runRemat(*m.module, o);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("symbol S has no value"), std::string::npos)
      << r.status().message();
  o.symbols = {{"B", 2}, {"S", 4}, {"Q", 3}};
  r = passes::runRemat(*m.module, o);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("'Q'"), std::string::npos) << r.status().message();
  o.symbols = kSyms;
  o.function = "nope";
  r = passes::runRemat(*m.module, o);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("no function @nope"), std::string::npos);
  // Rates: positive numbers only, named in the error.
  passes::RematPass pass;
  EXPECT_TRUE(pass.setOption("gemm_gflops", "95.5").isOk());
  EXPECT_TRUE(pass.setOption("bandwidth_gbs", "12").isOk());
  for (const char* bad : {"0", "-3", "fast", ""}) {
    Status s = pass.setOption("bandwidth_gbs", bad);
    ASSERT_FALSE(s.isOk()) << bad;
    EXPECT_NE(s.message().find("bandwidth_gbs"), std::string::npos) << s.message();
  }
}

// Remat never changes results: the same losses and trained values, bit for bit.
void expectBitwiseEqualTraining(const std::string& zoo, const std::map<std::string, std::string>& opts,
                                int64_t B, int64_t S) {
  const int steps = 3;
  Model ref = buildModel(zoo, opts);
  std::vector<ir::Tensor> refLosses = train(ref, steps, B, S, 32);
  ASSERT_EQ(refLosses.size(), static_cast<size_t>(steps));
  EXPECT_NE(refLosses[0], refLosses[2]);  // training moved
  const std::map<std::string, int64_t> syms{{"B", B}, {"S", S}};
  Model probe = buildModel(zoo, opts);
  StatusOr<int64_t> nonePeak = passes::plannedPeak(*probe.step(), syms);
  ASSERT_TRUE(nonePeak.isOk());
  for (RematMode mode : {RematMode::Selective, RematMode::Full, RematMode::Auto}) {
    Model m = buildModel(zoo, opts);
    bool mustChange = true;
    RematOptions o;
    o.mode = mode;
    o.symbols = syms;
    if (mode == RematMode::Auto) {
      // Between no remat and the least memory: auto must recompute something.
      Model low = buildModel(zoo, opts);
      passes::RematLayers layers = passes::findRematLayers(*low.step());
      StatusOr<passes::RematCosts> costs = passes::measureRematCosts(*low.step(), layers, o.symbols);
      ASSERT_TRUE(costs.isOk());
      int64_t minPeak = passes::solveMinPeak(*costs).peak;
      ASSERT_LE(minPeak, *nonePeak);
      mustChange = minPeak < *nonePeak;
      o.budget = (*nonePeak + minPeak) / 2;
    }
    StatusOr<bool> changed = passes::runRemat(*m.module, o);
    ASSERT_TRUE(changed.isOk()) << changed.status().message();
    EXPECT_EQ(*changed, mustChange) << zoo << " mode " << static_cast<int>(mode);
    ASSERT_TRUE(ir::verifyModule(*m.module).isOk());
    std::vector<ir::Tensor> losses = train(m, steps, B, S, 32);
    EXPECT_EQ(losses, refLosses) << zoo << " mode " << static_cast<int>(mode);
    for (const std::string& p : m.info.params)
      EXPECT_TRUE(*m.module->findParam(p)->init == *ref.module->findParam(p)->init)
          << zoo << " parameter " << p << " mode " << static_cast<int>(mode);
  }
}

TEST(Remat, BitwiseEqualTrainingGpt) { expectBitwiseEqualTraining("gpt", smallGpt(2), 2, 16); }

TEST(Remat, BitwiseEqualTrainingMoeGpt) {
  std::map<std::string, std::string> o = smallGpt(2);
  o["ffn"] = "32";
  expectBitwiseEqualTraining("moe-gpt", o, 2, 32);
}

}  // namespace
}  // namespace tessera::remat_test
