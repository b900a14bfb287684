// Per-rank pipeline programs (partition/pipeline/RankPrograms.h): the ordering check accepts the
// programs of every schedule and rejects a broken one; run in process with simulated send/recv
// (ProgramRunner.h) they compute the single-device loss and gradients (summed over micro-batches
// and, for the tied embedding, over the first and last stage; then divided by M).
#include <gtest/gtest.h>

#include "ir/Interpreter.h"
#include "ir/Printer.h"
#include "partition/pipeline/PipelineOrderCheck.h"
#include "partition/pipeline/ProgramRunner.h"
#include "partition/pipeline/RankPrograms.h"
#include "partition/pipeline/StageBackward.h"
#include "passes/autodiff/Autodiff.h"
#include "tests/unit/pipeline/PipelineTestUtil.h"

namespace tessera::partition::pipeline {
namespace {

using namespace pipeline_test;
using ir::Tensor;

constexpr int64_t kBatch = 8;

Tensor rowsOf(const Tensor& t, int k, int M) {
  const int64_t n = t.shape()[0] / M, row = t.numElements() / t.shape()[0];
  std::vector<int64_t> shape = t.shape();
  shape[0] = n;
  return Tensor(t.dtype(), shape,
                std::vector<double>(t.data().begin() + k * n * row, t.data().begin() + (k + 1) * n * row));
}

struct Built {
  StagePlan plan;
  std::vector<RankProgram> programs;
  std::vector<const ir::Function*> fns;
  ir::Mesh mesh;
};

std::unique_ptr<Built> build(ScheduleKind kind, int p, int m, int v) {
  auto model = tinyGpt();
  SplitOptions so;
  so.stages = p * v;
  auto plan = splitStages(*model->findFunction("main"), so);
  EXPECT_TRUE(plan.isOk()) << plan.status().message();
  if (!plan.isOk()) return nullptr;
  EXPECT_TRUE(addStageBackward(*plan).isOk());
  plan->module->meshes.push_back(ir::Mesh::make("m", {{"pp", p}}));
  auto schedule = buildSchedule({kind, p, m, v});
  EXPECT_TRUE(schedule.isOk());
  auto out = std::make_unique<Built>();
  out->plan = std::move(*plan);
  auto progs = buildRankPrograms(out->plan, *schedule, "m", "pp");
  EXPECT_TRUE(progs.isOk()) << progs.status().message();
  if (!progs.isOk()) return nullptr;
  out->programs = std::move(*progs);
  for (const RankProgram& rp : out->programs) out->fns.push_back(out->plan.module->findFunction(rp.function));
  out->mesh = *out->plan.module->findMesh("m");
  return out;
}

int countOps(const ir::Function& f, ir::OpKind k) {
  int n = 0;
  for (const auto& op : f.ops()) n += op->kind() == k;
  return n;
}

TEST(RankPrograms, OrderCheckAcceptsEverySchedule) {
  struct C {
    ScheduleKind k;
    int p, m, v;
  };
  for (C c : {C{ScheduleKind::GPipe, 2, 4, 1}, C{ScheduleKind::OneFOneB, 4, 4, 1},
              C{ScheduleKind::Interleaved, 2, 4, 2}}) {
    SCOPED_TRACE(scheduleKindName(c.k));
    auto b = build(c.k, c.p, c.m, c.v);
    ASSERT_TRUE(b);
    Status st = checkPipelineOrder(b->mesh, b->fns);
    EXPECT_TRUE(st.isOk()) << st.message();
    // Each boundary carries one tensor: every rank sends and receives one per micro-batch, chunk
    // and direction it has a neighbour in (interleaved: rank 0's chunk 1 receives from rank 1).
    for (int r = 0; r < c.p; ++r) {
      int sends = 0, recvs = 0;
      for (int chunk = 0; chunk < c.v; ++chunk) {
        int s = chunk * c.p + r;
        bool next = s + 1 < c.p * c.v, prev = s > 0;
        sends += c.m * (next + prev);
        recvs += c.m * (next + prev);
      }
      EXPECT_EQ(countOps(*b->fns[r], ir::OpKind::Send), sends) << "rank " << r;
      EXPECT_EQ(countOps(*b->fns[r], ir::OpKind::Recv), recvs) << "rank " << r;
    }
  }
}

TEST(RankPrograms, RunInProcessTheyGiveTheSingleDeviceGradients) {
  const int p = 2, M = 4;
  auto b = build(ScheduleKind::OneFOneB, p, M, 1);
  ASSERT_TRUE(b);
  std::string text = ir::printModule(*b->plan.module);
  size_t at = text.find("func @rank1(");
  ASSERT_NE(at, std::string::npos);
  text = text.substr(at);
  // Parameters first (the tied embedding first: the forward's order), then data per micro-batch.
  EXPECT_EQ(text.rfind("func @rank1(%wte: f32[11,8]", 0), 0u) << text.substr(0, 400);
  EXPECT_NE(text.find("%targets.mb3: i64[B,S]"), std::string::npos) << text.substr(0, 1000);
  EXPECT_NE(text.find("recv axes=[pp] peer=0"), std::string::npos) << text.substr(0, 3000);

  auto batch = tokens(kBatch, 11);
  std::vector<std::vector<Tensor>> inputs(p);
  for (int r = 0; r < p; ++r) {
    for (const std::string& n : b->programs[r].params) inputs[r].push_back(*b->plan.module->findParam(n)->init);
    for (const std::string& n : b->programs[r].data) {
      size_t dot = n.rfind(".mb");
      inputs[r].push_back(rowsOf(batch.at(n.substr(0, dot)), std::stoi(n.substr(dot + 3)), M));
    }
  }
  auto outs = runPipelinePrograms(b->mesh, b->fns, inputs);
  ASSERT_TRUE(outs.isOk()) << outs.status().message();

  // Reference: the forward differentiated on one device, whole batch.
  auto ref = tinyGpt();
  ir::Function& f = *ref->findFunction("main");
  std::vector<ir::Value*> wrt = passes::trainableArguments(f);
  std::vector<std::string> names;
  for (ir::Value* a : wrt) names.push_back(a->name());
  ASSERT_TRUE(passes::differentiate(f, 0, wrt).isOk());
  auto want = ir::interpret(f, batch);
  ASSERT_TRUE(want.isOk()) << want.status().message();

  double loss = 0;
  std::map<std::string, Tensor> grads;
  for (int r = 0; r < p; ++r) {
    size_t k = 0;
    if (b->programs[r].hasLoss) loss += (*outs)[r][k++][0];
    for (const std::string& n : b->programs[r].grads) {
      const Tensor& g = (*outs)[r][k++];
      auto it = grads.find(n);
      if (it == grads.end()) {
        grads.emplace(n, g);
      } else {
        std::vector<double> sum(it->second.data());
        for (size_t i = 0; i < sum.size(); ++i) sum[i] += g.data()[i];
        it->second = Tensor(g.dtype(), g.shape(), sum);
      }
    }
  }
  EXPECT_NEAR(loss / M, want->outputs[0][0], 1e-5 * std::abs(want->outputs[0][0]));
  ASSERT_EQ(grads.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const Tensor& g = grads.at(names[i]);
    std::vector<double> mean(g.data());
    for (double& x : mean) x /= M;
    expectClose(Tensor(g.dtype(), g.shape(), mean), want->outputs[1 + i], names[i]);
  }
}

TEST(RankPrograms, BrokenProgramsAreRejected) {
  auto b = build(ScheduleKind::OneFOneB, 2, 4, 1);
  ASSERT_TRUE(b);
  // Rank 0 forgets its first activation send: rank 1 would wait for it forever.
  ir::Function* r0 = b->plan.module->findFunction("rank0");
  for (const auto& op : r0->ops())
    if (op->kind() == ir::OpKind::Send) {
      r0->eraseOp(op.get());
      break;
    }
  Status st = checkPipelineOrder(b->mesh, b->fns);
  ASSERT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("the programs hang"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("rank 1 waits at its"), std::string::npos) << st.message();

  // Running them anyway ends with a timeout naming the waiting rank, not a hang.
  std::vector<std::vector<Tensor>> inputs(2);
  auto batch = tokens(kBatch, 1);
  for (int r = 0; r < 2; ++r) {
    for (const std::string& n : b->programs[r].params) inputs[r].push_back(*b->plan.module->findParam(n)->init);
    for (const std::string& n : b->programs[r].data) {
      size_t dot = n.rfind(".mb");
      inputs[r].push_back(rowsOf(batch.at(n.substr(0, dot)), std::stoi(n.substr(dot + 3)), 4));
    }
  }
  auto outs = runPipelinePrograms(b->mesh, b->fns, inputs, std::chrono::milliseconds(300));
  ASSERT_FALSE(outs.isOk());
  EXPECT_NE(outs.status().message().find("timed out"), std::string::npos) << outs.status().message();

  // A program for the wrong number of ranks.
  EXPECT_NE(checkPipelineOrder(b->mesh, {b->fns[0]}).message().find("has 2 devices but 1 programs"),
            std::string::npos);
}

}  // namespace
}  // namespace tessera::partition::pipeline
