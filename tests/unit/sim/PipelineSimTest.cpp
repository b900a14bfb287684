// Stages side by side with blocking send/recv (sim/PipelineSim.h): a two-stage program whose
// times follow by hand from the roofline and the link, and the hang error.
#include <gtest/gtest.h>

#include <algorithm>

#include "ir/Module.h"
#include "partition/sim/PipelineSim.h"

namespace tessera::partition::sim {
namespace {

using ir::DType;
using ir::OpKind;

ir::Op* add(ir::Function* f, OpKind k, std::vector<ir::Value*> in,
            std::vector<std::pair<std::string, ir::AttrValue>> attrs = {},
            std::vector<ir::TensorType> decl = {}) {
  auto r = f->addOp({k, std::move(in), std::move(attrs), std::move(decl), {}});
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return *r;
}

std::vector<std::pair<std::string, ir::AttrValue>> p2p(int64_t peer) {
  return {{"axes", ir::AxisList{{"pp"}}}, {"peer", peer}};
}

constexpr int64_t N = 1 << 16;  // f32 elements per tensor

// Stage 0: a = exp(x); send a to stage 1; g = recv from 1; y = g * x.
// Stage 1: r = recv from 0; b = exp(r); send b to 0.
struct TwoStages {
  ir::Module m{"t"};
  ir::Function *s0 = nullptr, *s1 = nullptr;
  explicit TwoStages(bool hang = false) {
    m.meshes.push_back(ir::Mesh::make("m", {{"pp", 2}}));
    ir::TensorType t{DType::F32, {N}};
    s0 = m.addFunction("s0");
    ir::Value* x = s0->addArgument(t, "x");
    ir::Op* a = add(s0, OpKind::Exp, {x});
    add(s0, OpKind::Send, {a->result(0)}, p2p(1));
    ir::Op* g = add(s0, OpKind::Recv, {}, p2p(1), {t});
    ir::Op* y = add(s0, OpKind::Mul, {g->result(0), x});
    s0->setResults({y->result(0)});
    s1 = m.addFunction("s1");
    if (hang) {  // stage 1 sends first: both wait in a send
      ir::Value* z = s1->addArgument(t, "z");
      add(s1, OpKind::Send, {z}, p2p(0));
      add(s1, OpKind::Recv, {}, p2p(0), {t});
      return;
    }
    ir::Op* r = add(s1, OpKind::Recv, {}, p2p(0), {t});
    ir::Op* b = add(s1, OpKind::Exp, {r->result(0)});
    add(s1, OpKind::Send, {b->result(0)}, p2p(0));
  }
};

TEST(PipelineSim, StagesWaitForEachOtherThroughTheSchedule) {
  TwoStages p;
  auto c = cost::parseClusterShorthand("1x2:cpu");
  ASSERT_TRUE(c.isOk());
  const cost::DeviceSpec& d = c->device;
  const cost::NetworkLevel& l = c->levels[0];
  const double bytes = 4.0 * N, bw = d.memoryBandwidth * d.memoryEfficiency;
  // exp: 4 flops per element, reads and writes one tensor; mul reads two, writes one.
  const double tExp = std::max(4.0 * N / d.vectorPeak, 2 * bytes / bw) + d.launchOverhead;
  const double tMul = std::max(1.0 * N / d.vectorPeak, 3 * bytes / bw) + d.launchOverhead;
  const double xfer = l.latency + bytes / l.effectiveBandwidth(bytes);
  auto r = simulatePipeline({p.s0, p.s1}, p.m.meshes[0], "pp", *c, SimOptions{});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r->stages.size(), 2u);
  // Stage 1's receive waits for stage 0's exp; stage 0's receive waits for stage 1's exp.
  const double end1 = tExp + xfer + tExp + xfer;
  EXPECT_NEAR(r->stages[1].endSeconds, end1, 1e-15);
  EXPECT_NEAR(r->stages[0].endSeconds, end1 + tMul, 1e-15);
  EXPECT_NEAR(r->stepSeconds, end1 + tMul, 1e-15);
  EXPECT_NEAR(r->stages[1].waitSeconds, tExp, 1e-15);
  EXPECT_NEAR(r->stages[0].waitSeconds, tExp, 1e-15);
  EXPECT_NEAR(r->stages[0].p2pSeconds, 2 * xfer, 1e-15);
  EXPECT_NEAR(r->stages[0].computeSeconds, tExp + tMul, 1e-15);
}

TEST(PipelineSim, HangingStagesAreAnError) {
  TwoStages p(true);
  auto c = cost::parseClusterShorthand("1x2:cpu");
  ASSERT_TRUE(c.isOk());
  auto r = simulatePipeline({p.s0, p.s1}, p.m.meshes[0], "pp", *c, SimOptions{});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("the stages hang"), std::string::npos) << r.status().message();
}

// Eager sends (SimOptions::eagerSendBytes): a 64-byte message next to 256 KiB tensors.
struct EagerCase {
  ir::Module m{"e"};
  ir::Function *s0 = nullptr, *s1 = nullptr;
  ir::TensorType big{DType::F32, {N}}, small{DType::F32, {16}};
  EagerCase() { m.meshes.push_back(ir::Mesh::make("m", {{"pp", 2}})); }
};

struct Times {
  double tExp, xSmall, xBig;
};

Times timesOn(const cost::ClusterSpec& c) {
  const cost::DeviceSpec& d = c.device;
  const cost::NetworkLevel& l = c.levels[0];
  const double bytes = 4.0 * N, bw = d.memoryBandwidth * d.memoryEfficiency;
  return {std::max(4.0 * N / d.vectorPeak, 2 * bytes / bw) + d.launchOverhead,
          l.latency + 64.0 / l.effectiveBandwidth(64.0), l.latency + bytes / l.effectiveBandwidth(bytes)};
}

// Stage 0 sends a small message at once, then computes; stage 1 computes, then receives it.
TEST(PipelineSim, EagerSendDoesNotWaitForTheReceive) {
  EagerCase e;
  e.s0 = e.m.addFunction("s0");
  ir::Value* s = e.s0->addArgument(e.small, "s");
  ir::Value* x = e.s0->addArgument(e.big, "x");
  add(e.s0, OpKind::Send, {s}, p2p(1));
  ir::Op* a = add(e.s0, OpKind::Exp, {x});
  e.s0->setResults({a->result(0)});
  e.s1 = e.m.addFunction("s1");
  ir::Value* z = e.s1->addArgument(e.big, "z");
  ir::Op* b = add(e.s1, OpKind::Exp, {z});
  ir::Op* r = add(e.s1, OpKind::Recv, {}, p2p(0), {e.small});
  e.s1->setResults({b->result(0), r->result(0)});
  auto c = cost::parseClusterShorthand("1x2:cpu");
  ASSERT_TRUE(c.isOk());
  const Times t = timesOn(*c);

  SimOptions eager;
  eager.eagerSendBytes = 4096;
  auto re = simulatePipeline({e.s0, e.s1}, e.m.meshes[0], "pp", *c, eager);
  ASSERT_TRUE(re.isOk()) << re.status().message();
  // The sender copies out and computes; the message waits for stage 1's receive at tExp.
  EXPECT_NEAR(re->stages[0].endSeconds, t.xSmall + t.tExp, 1e-15);
  EXPECT_NEAR(re->stages[0].waitSeconds, 0.0, 1e-15);
  EXPECT_NEAR(re->stages[1].endSeconds, t.tExp + t.xSmall, 1e-15);
  EXPECT_NEAR(re->stages[1].waitSeconds, 0.0, 1e-15);
  EXPECT_NEAR(re->stages[1].p2pSeconds, t.xSmall, 1e-15);

  // Rendezvous (the default): the send blocks until stage 1 posts its receive.
  auto rr = simulatePipeline({e.s0, e.s1}, e.m.meshes[0], "pp", *c, SimOptions{});
  ASSERT_TRUE(rr.isOk()) << rr.status().message();
  EXPECT_NEAR(rr->stages[0].waitSeconds, t.tExp, 1e-15);
  EXPECT_NEAR(rr->stages[0].endSeconds, t.tExp + t.xSmall + t.tExp, 1e-15);

  // A limit below the message's 64 bytes: rendezvous again.
  SimOptions tight;
  tight.eagerSendBytes = 63;
  auto rt = simulatePipeline({e.s0, e.s1}, e.m.meshes[0], "pp", *c, tight);
  ASSERT_TRUE(rt.isOk());
  EXPECT_NEAR(rt->stepSeconds, rr->stepSeconds, 1e-15);
}

// The receiver posts first and waits for a late eager message; then a rendezvous message from
// the same sender is received after it (program order), blocking the sender until then.
TEST(PipelineSim, EagerMessagesKeepTheirOrderBeforeARendezvous) {
  EagerCase e;
  e.s0 = e.m.addFunction("s0");
  ir::Value* x = e.s0->addArgument(e.big, "x");
  ir::Value* s = e.s0->addArgument(e.small, "s");
  ir::Op* a = add(e.s0, OpKind::Exp, {x});
  add(e.s0, OpKind::Send, {s}, p2p(1));            // eager, issued at tExp
  add(e.s0, OpKind::Send, {a->result(0)}, p2p(1));  // rendezvous
  e.s1 = e.m.addFunction("s1");
  ir::Value* z = e.s1->addArgument(e.big, "z");
  ir::Op* r1 = add(e.s1, OpKind::Recv, {}, p2p(0), {e.small});
  ir::Op* b = add(e.s1, OpKind::Exp, {z});
  ir::Op* b2 = add(e.s1, OpKind::Exp, {b->result(0)});
  ir::Op* r2 = add(e.s1, OpKind::Recv, {}, p2p(0), {e.big});
  e.s1->setResults({r1->result(0), b2->result(0), r2->result(0)});
  auto c = cost::parseClusterShorthand("1x2:cpu");
  ASSERT_TRUE(c.isOk());
  const Times t = timesOn(*c);
  SimOptions o;
  o.eagerSendBytes = 4096;
  o.fuseElementwise = false;  // the two exps are two kernels
  auto r = simulatePipeline({e.s0, e.s1}, e.m.meshes[0], "pp", *c, o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  // Stage 1 waits tExp for the small message, receives it (xSmall), computes 2 tExp, then
  // receives the big one, which stage 0 has been blocked on since tExp + xSmall.
  const double posted = t.tExp + t.xSmall + 2 * t.tExp;
  EXPECT_NEAR(r->stages[1].waitSeconds, t.tExp, 1e-15);
  EXPECT_NEAR(r->stages[1].endSeconds, posted + t.xBig, 1e-15);
  EXPECT_NEAR(r->stages[0].waitSeconds, posted - (t.tExp + t.xSmall), 1e-15);
  EXPECT_NEAR(r->stages[0].endSeconds, posted + t.xBig, 1e-15);
  EXPECT_NEAR(r->stages[0].p2pSeconds, t.xSmall + t.xBig, 1e-15);
}

TEST(PipelineSim, AnEagerMessageNobodyReceivesIsAnError) {
  EagerCase e;
  e.s0 = e.m.addFunction("s0");
  ir::Value* s = e.s0->addArgument(e.small, "s");
  add(e.s0, OpKind::Send, {s}, p2p(1));
  e.s1 = e.m.addFunction("s1");
  e.s1->addArgument(e.small, "z");
  auto c = cost::parseClusterShorthand("1x2:cpu");
  ASSERT_TRUE(c.isOk());
  SimOptions o;
  o.eagerSendBytes = 4096;
  auto r = simulatePipeline({e.s0, e.s1}, e.m.meshes[0], "pp", *c, o);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("sends 1 more message(s) to stage 1 than it receives"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace tessera::partition::sim
