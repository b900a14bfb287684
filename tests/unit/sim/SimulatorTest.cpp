// The event simulator on hand-built programs: a two-op program's step equals the sum of its
// roofline terms, async collectives overlap compute, and liveness gives the peak memory.
#include <gtest/gtest.h>

#include <cmath>

#include "ir/Module.h"
#include "partition/sim/Simulator.h"

namespace tessera::partition::sim {
namespace {

using ir::DType;
using ir::OpKind;

cost::ClusterSpec cluster(const char* s) {
  auto c = cost::parseClusterShorthand(s);
  EXPECT_TRUE(c.isOk()) << c.status().message();
  return *c;
}

ir::Op* add(ir::Function* f, OpKind k, std::vector<ir::Value*> in,
            std::vector<std::pair<std::string, ir::AttrValue>> attrs = {}) {
  auto r = f->addOp({k, std::move(in), std::move(attrs), {}, {}});
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return *r;
}

// A100-80GB figures used by the hand formulas below.
// HBM at the fitted achievable fraction 0.68 (DeviceSpec.cpp, docs/planner.md).
constexpr double kPeak = 312e12, kBw = 2.039e12 * 0.68, kLaunch = 3e-6;

TEST(Simulator, TwoOpProgramIsTheSumOfRooflineTerms) {
  ir::Module m("t");
  m.meshes.push_back(ir::Mesh::make("m", {{"tp", 1}}));
  ir::Function* f = m.addFunction("f");
  ir::Value* x = f->addArgument({DType::BF16, {1024, 4096}}, "x");
  ir::Value* w = f->addArgument({DType::BF16, {4096, 4096}}, "w");
  ir::Op* mm = add(f, OpKind::Matmul, {x, w});
  ir::Op* g = add(f, OpKind::Gelu, {mm->result(0)});
  f->setResults({g->result(0)});
  auto r = simulate(*f, m.meshes[0], cluster("1x1:a100-80g"), SimOptions{});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  // matmul: compute-bound, 2*1024*4096*4096 flops at 312T * 0.86 * (1024/1088) * (4096/4160)^2.
  double eff = 0.86 * (1024.0 / 1088.0) * std::pow(4096.0 / 4160.0, 2);
  double tMatmul = 2.0 * 1024 * 4096 * 4096 / (kPeak * eff) + kLaunch;
  // gelu: memory-bound, reads and writes 1024*4096 bf16 values.
  double tGelu = 2.0 * 1024 * 4096 * 2 / kBw + kLaunch;
  EXPECT_NEAR(r->stepSeconds, tMatmul + tGelu, 1e-12);
  EXPECT_NEAR(r->computeSeconds, tMatmul + tGelu, 1e-12);
  EXPECT_EQ(r->exposedCommSeconds, 0.0);
  EXPECT_DOUBLE_EQ(r->modelFlops, 2.0 * 1024 * 4096 * 4096 + 10.0 * 1024 * 4096);
  EXPECT_NEAR(r->mfu, r->modelFlops / r->stepSeconds / kPeak, 1e-12);
}

struct OverlapProgram {
  ir::Module m{"t"};
  ir::Function* f = nullptr;
  ir::Op* ar = nullptr;
  OverlapProgram() {
    m.meshes.push_back(ir::Mesh::make("m", {{"tp", 8}}));
    f = m.addFunction("f");
    ir::Value* x = f->addArgument({DType::BF16, {8192, 8192}}, "x");
    ir::Value* a = f->addArgument({DType::BF16, {8192, 2048}}, "a");
    ir::Value* b = f->addArgument({DType::BF16, {2048, 8192}}, "b");
    ar = add(f, OpKind::AllReduce, {x}, {{"axes", ir::AxisList{{"tp"}}}});
    ir::Op* mm = add(f, OpKind::Matmul, {a, b});  // independent of the all-reduce
    ir::Op* sum = add(f, OpKind::Add, {ar->result(0), mm->result(0)});
    f->setResults({sum->result(0)});
  }
};

TEST(Simulator, AsyncCollectivesOverlapCompute) {
  OverlapProgram p;
  cost::ClusterSpec c = cluster("1x8:a100-80g");
  const double S = 8192.0 * 8192 * 2;
  const double tAr = 2.0 * 7 / 8 * S / 232.5e9 + 14 * 5e-6;  // nccl-tests: 232.5 of 300 GB/s, 5 us/step
  const double eff = 0.86 * std::pow(8192.0 / 8256.0, 2) * (2048.0 / 2112.0);
  const double tMm = 2.0 * 8192 * 8192 * 2048 / (kPeak * eff) + kLaunch;
  const double tAdd = 3 * S / kBw + kLaunch;

  auto blocking = simulate(*p.f, p.m.meshes[0], c, SimOptions{});
  ASSERT_TRUE(blocking.isOk()) << blocking.status().message();
  EXPECT_NEAR(blocking->stepSeconds, tAr + tMm + tAdd, 1e-12);
  EXPECT_NEAR(blocking->comm.at("tp").exposedSeconds, tAr, 1e-12);
  EXPECT_EQ(blocking->comm.at("tp").count, 1);

  SimOptions async;
  async.asyncOps.insert(p.ar);
  auto overlapped = simulate(*p.f, p.m.meshes[0], c, async);
  ASSERT_TRUE(overlapped.isOk());
  EXPECT_NEAR(overlapped->stepSeconds, std::max(tAr, tMm) + tAdd, 1e-12);
  EXPECT_NEAR(overlapped->comm.at("tp").exposedSeconds, std::max(0.0, tAr - tMm), 1e-12);
  EXPECT_LT(overlapped->exposedCommSeconds, blocking->exposedCommSeconds);
  EXPECT_LT(overlapped->stepSeconds, blocking->stepSeconds);
  // The breakdown always adds up.
  for (const SimResult* r : {&*blocking, &*overlapped})
    EXPECT_NEAR(r->stepSeconds, r->computeSeconds + r->exposedCommSeconds, 1e-12);
}

TEST(Simulator, SlowerNetworkExposesMore) {
  OverlapProgram p;
  // tp=8 spread over 8 nodes of 1 GPU: the all-reduce crosses InfiniBand.
  auto fast = simulate(*p.f, p.m.meshes[0], cluster("1x8:a100-80g"), SimOptions{});
  auto slow = simulate(*p.f, p.m.meshes[0], cluster("8x1:a100-80g"), SimOptions{});
  ASSERT_TRUE(fast.isOk() && slow.isOk());
  const double S = 8192.0 * 8192 * 2;
  EXPECT_NEAR(slow->comm.at("tp").busySeconds, 2.0 * 7 / 8 * S / 24e9 + 14 * 6e-6, 1e-12);
  EXPECT_GT(slow->stepSeconds, fast->stepSeconds);
}

TEST(Simulator, PeakMemoryByLiveness) {
  ir::Module m("t");
  m.params.push_back(ir::Parameter{"w", {DType::F32, {1000}}, std::nullopt, nullptr, true, {}});
  m.params.push_back(ir::Parameter{"w.m", {DType::F32, {1000}}, std::nullopt, nullptr, false, {}});
  m.meshes.push_back(ir::Mesh::make("m", {{"dp", 1}}));
  ir::Function* f = m.addFunction("f");
  ir::Value* w = f->addArgument({DType::F32, {1000}}, "w");
  ir::Value* wm = f->addArgument({DType::F32, {1000}}, "w.m");
  ir::Value* x = f->addArgument({DType::F32, {1000}}, "x");
  ir::Op* e = add(f, OpKind::Exp, {x});                      // fused into mul: never stored
  ir::Op* h = add(f, OpKind::Mul, {w, e->result(0)});        // 4000 B, dies at g
  ir::Op* g = add(f, OpKind::Add, {h->result(0), h->result(0)});
  g->result(0)->setName("grad.w");                           // 4000 B, returned
  ir::Op* t = add(f, OpKind::Neg, {g->result(0)});           // 4000 B, returned
  f->setResults({g->result(0), t->result(0), wm});
  auto r = simulate(*f, m.meshes[0], cluster("1x1:cpu"), SimOptions{});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  // At g: w, w.m, x (12000) + h + g = 20000; at t: h is dead, g + t = 20000 too; the first wins.
  EXPECT_DOUBLE_EQ(r->memory.peakBytes, 20000);
  EXPECT_EQ(r->memory.peakOp, 2);
  EXPECT_DOUBLE_EQ(r->memory.atPeak.parameters, 4000);
  EXPECT_DOUBLE_EQ(r->memory.atPeak.optimizerState, 4000);
  EXPECT_DOUBLE_EQ(r->memory.atPeak.inputs, 4000);
  EXPECT_DOUBLE_EQ(r->memory.atPeak.gradients, 4000);
  EXPECT_DOUBLE_EQ(r->memory.atPeak.activations, 4000);
  // Without fusion exp's result is stored too: at h, 12000 + exp + h = 20000; at g 20000.
  SimOptions nofuse;
  nofuse.fuseElementwise = false;
  auto r2 = simulate(*f, m.meshes[0], cluster("1x1:cpu"), nofuse);
  ASSERT_TRUE(r2.isOk());
  EXPECT_DOUBLE_EQ(r2->memory.peakBytes, 20000);
  EXPECT_EQ(r2->memory.peakOp, 1);
}

TEST(Simulator, ErrorsNameTheOp) {
  ir::Module m("t");
  m.meshes.push_back(ir::Mesh::make("m", {{"tp", 8}}));
  ir::Function* f = m.addFunction("f");
  ir::Value* x = f->addArgument({DType::F32, {ir::Dim::symbol("B"), 4}}, "x");
  auto op = f->addOp({OpKind::Neg, {x}, {}, {}, Location{"p.tir", 7, 3}});
  ASSERT_TRUE(op.isOk());
  f->setResults({(*op)->result(0)});
  auto unbound = simulate(*f, m.meshes[0], cluster("1x8:a100-80g"), SimOptions{});
  ASSERT_FALSE(unbound.isOk());
  EXPECT_EQ(unbound.status().message().rfind("p.tir:7:3: error:", 0), 0u) << unbound.status().message();
  SimOptions o;
  o.symbols["B"] = 2;
  auto ar = f->addOp({OpKind::AllReduce, {x}, {{"axes", ir::AxisList{{"tp"}}}}, {}, Location{"p.tir", 8, 3}});
  ASSERT_TRUE(ar.isOk());
  auto tooSmall = simulate(*f, m.meshes[0], cluster("1x4:a100-80g"), o);
  ASSERT_FALSE(tooSmall.isOk());
  EXPECT_NE(tooSmall.status().message().find("p.tir:8:3"), std::string::npos) << tooSmall.status().message();
}

}  // namespace
}  // namespace tessera::partition::sim
