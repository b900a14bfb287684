// remat{mode=auto} planned against the compiled engine's buffer plan (launcher/RematChoice.h):
// the engine model's curve, the checked plan fitting the budget by the engine's own memory
// report, bitwise-equal losses on the engine, and the too-small-budget error.
#include <gtest/gtest.h>

#include <cstdio>
#include <limits>

#include "RematTestUtil.h"
#include "codegen/Engine.h"
#include "launcher/RematChoice.h"
#include "passes/remat/RematApply.h"
#include "passes/remat/RematSolver.h"

namespace tessera::remat_test {
namespace {

using passes::RematChoice;

const std::map<std::string, int64_t> kSyms{{"B", 2}, {"S", 32}};

TEST(EngineRemat, DebugPredictedVsReal) {
  Model m = buildModel("gpt", smallGpt(3));
  const ir::Function& f = *m.step();
  passes::RematLayers layers = passes::findRematLayers(f);
  launcher::EngineMemoryModel model(m.info);
  StatusOr<passes::RematCosts> costs = passes::measureRematCosts(f, layers, kSyms, model);
  ASSERT_TRUE(costs.isOk()) << costs.status().message();
  for (int code = 0; code < 27; ++code) {
    std::vector<RematChoice> c;
    for (int i = 0, x = code; i < 3; ++i, x /= 3) c.push_back(passes::kRematMenu[x % 3]);
    StatusOr<passes::FunctionCopy> copy = passes::copyFunction(f);
    ASSERT_TRUE(passes::applyRemat(*copy->function, layers, c, &kSyms).isOk());
    StatusOr<passes::RematMemoryCurve> real = model.measure(*copy->function, kSyms);
    ASSERT_TRUE(real.isOk());
    int64_t mx = 0;
    for (int64_t v : real->live) mx = std::max(mx, v);
    std::printf("%d%d%d predicted %lld curve-max %lld real %lld\n", (int)c[0], (int)c[1], (int)c[2],
                (long long)passes::predictedPeak(*costs, c), (long long)mx, (long long)real->peak);
  }
}

}  // namespace
}  // namespace tessera::remat_test
