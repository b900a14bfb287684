// Pad-sums (passes/fusion/PadSums.h) as the cost model prices a CPU rank: the engine assembles
// them in place as concatenations, so their pads and adds cost nothing; a pad outside such a sum
// is a copy, as before. Expected values by hand.
#include <gtest/gtest.h>

#include <algorithm>

#include "ir/Module.h"
#include "ir/Parser.h"
#include "partition/cost/EngineFusion.h"
#include "partition/cost/ProgramCost.h"
#include "partition/sim/Simulator.h"
#include "passes/fusion/PadSums.h"

namespace tessera::partition::cost {
namespace {

// %s = concat(exp x, exp z) along axis 1, written as a sum of zero pads that tile [0, 32);
// %q is a plain pad (one pad, no sum).
const char* kTiled = R"(module @m {
 func @main(%x: f32[64,8], %z: f32[64,24], %u: f32[64,16]) -> (f32[64,32], f32[64,32]) {
  %a = exp %x : f32[64,8]
  %b = exp %z : f32[64,24]
  %pa = pad %a low=[0,0] high=[0,24] : f32[64,32]
  %pb = pad %b low=[0,8] high=[0,0] : f32[64,32]
  %s = add %pa, %pb : f32[64,32]
  %q = pad %u low=[0,0] high=[0,16] : f32[64,32]
  return %s, %q
 }
})";

// The same shape of program whose pieces leave a gap ([0,8) and [12,32)): not a concatenation.
const char* kGap = R"(module @m {
 func @main(%x: f32[64,8], %z: f32[64,20]) -> (f32[64,32]) {
  %a = exp %x : f32[64,8]
  %b = exp %z : f32[64,20]
  %pa = pad %a low=[0,0] high=[0,24] : f32[64,32]
  %pb = pad %b low=[0,12] high=[0,0] : f32[64,32]
  %s = add %pa, %pb : f32[64,32]
  return %s
 }
})";

std::unique_ptr<ir::Module> parse(const char* text) {
  auto m = ir::parseModule(text, "padsum.tir");
  EXPECT_TRUE(m.isOk()) << m.status().message();
  return m.isOk() ? std::move(*m) : nullptr;
}

// The op defining the named value (`%name`).
const ir::Op* opNamed(const ir::Function& f, const std::string& name) {
  for (const auto& op : f.ops())
    if (op->numResults() == 1 && op->result()->name() == name) return op.get();
  ADD_FAILURE() << "no op defines %" << name;
  return nullptr;
}

constexpr double kF = 4.0;  // bytes per f32

TEST(PadSumCost, TheRuleFindsTheConcatenation) {
  auto m = parse(kTiled);
  ASSERT_TRUE(m);
  const ir::Function& f = *m->findFunction("main");
  passes::PadSums ps = passes::findPadSums(f);
  ASSERT_EQ(ps.sums.size(), 1u);
  const passes::PadSum& s = ps.sums[0];
  EXPECT_EQ(s.root, opNamed(f, "s"));
  EXPECT_EQ(s.axis, 1);
  ASSERT_EQ(s.pieces.size(), 2u);
  EXPECT_EQ(s.pieces[0], std::make_pair(int64_t{0}, opNamed(f, "pa")));
  EXPECT_EQ(s.pieces[1], std::make_pair(int64_t{8}, opNamed(f, "pb")));
  EXPECT_EQ(ps.members.size(), 3u);  // pa, pb, s; never the plain pad q
  EXPECT_FALSE(ps.members.count(opNamed(f, "q")));

  auto gap = parse(kGap);
  ASSERT_TRUE(gap);
  EXPECT_TRUE(passes::findPadSums(*gap->findFunction("main")).sums.empty());
}

TEST(PadSumCost, APadSumIsFreeAndAPlainPadIsACopy) {
  auto m = parse(kTiled);
  ASSERT_TRUE(m);
  const ir::Function& f = *m->findFunction("main");
  auto costs = engineProgramCosts(f, {});
  ASSERT_TRUE(costs.isOk()) << costs.status().message();
  auto at = [&](const char* n) { return (*costs)[static_cast<size_t>(f.indexOf(opNamed(f, n)))]; };
  for (const char* n : {"pa", "pb", "s"}) {
    EXPECT_FALSE(at(n).launchesKernel) << n;
    EXPECT_EQ(at(n).bytes(), 0.0) << n;
    EXPECT_EQ(at(n).flops, 0.0) << n;
  }
  // The sum's add joins no fusion group (it emits no code in the engine either).
  EXPECT_EQ(engineFusionGroups(f)[static_cast<size_t>(f.indexOf(opNamed(f, "s")))], -1);
  // q: reads u (64x16), writes 64x32.
  EXPECT_TRUE(at("q").launchesKernel);
  EXPECT_DOUBLE_EQ(at("q").bytesRead, kF * 64 * 16);
  EXPECT_DOUBLE_EQ(at("q").bytesWritten, kF * 64 * 32);

  // On a CPU device the "pad" line is q's copy alone: bytes over bandwidth plus one launch.
  auto c = parseClusterShorthand("1x1:cpu");
  ASSERT_TRUE(c.isOk());
  const DeviceSpec& d = c->device;
  sim::SimOptions o;
  o.fusion = FusionRule::Engine;
  auto r = sim::simulate(f, ir::Mesh::make("m", {}), *c, o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const double bw = d.memoryBandwidth * d.memoryEfficiency;
  EXPECT_NEAR(r->computeByKind.at("pad"), kF * 64 * (16 + 32) / bw + d.launchOverhead, 1e-15);
  auto add = r->computeByKind.find("add");
  EXPECT_TRUE(add == r->computeByKind.end() || add->second == 0.0);

  // GPU pricing (the consumer rule) is untouched: each pad of the sum still copies.
  auto consumer = programCosts(f, {}, true);
  ASSERT_TRUE(consumer.isOk());
  const size_t pa = static_cast<size_t>(f.indexOf(opNamed(f, "pa")));
  EXPECT_DOUBLE_EQ((*consumer)[pa].bytes(), kF * 64 * (8 + 32));
}

TEST(PadSumCost, PadsThatLeaveAGapArePricedAsCopies) {
  auto m = parse(kGap);
  ASSERT_TRUE(m);
  const ir::Function& f = *m->findFunction("main");
  auto costs = engineProgramCosts(f, {});
  ASSERT_TRUE(costs.isOk()) << costs.status().message();
  auto at = [&](const char* n) { return (*costs)[static_cast<size_t>(f.indexOf(opNamed(f, n)))]; };
  EXPECT_TRUE(at("pa").launchesKernel);
  EXPECT_DOUBLE_EQ(at("pa").bytes(), kF * 64 * (8 + 32));
  EXPECT_DOUBLE_EQ(at("pb").bytes(), kF * 64 * (20 + 32));
  // The add is a kernel of its own: reads both padded tensors, writes the sum.
  EXPECT_TRUE(at("s").launchesKernel);
  EXPECT_DOUBLE_EQ(at("s").bytesRead, 2 * kF * 64 * 32);
  EXPECT_DOUBLE_EQ(at("s").bytesWritten, kF * 64 * 32);
}

}  // namespace
}  // namespace tessera::partition::cost
