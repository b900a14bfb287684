// Issue 6's composition, in process: the pipeline step functions (partition/pipeline/
// PipelineStep.h, 1F1B, pp=2, M=2) partitioned over the mesh's other axes by the ordinary presets
// (partition/plan/PartitionStep.h partitionPrograms) and run on the in-process executor — every
// device of a pp x dp / pp x tp / pp x ep mesh, send/recv and collectives together — equal the
// single-device training step: tiny 4-layer GPT (tied embedding) and MoE-GPT, 3 steps fed back,
// per-step losses within 1e-5 relative and every final parameter within 1e-5 of its scale
// (max |got - want| / max |want|, as tests/unit/spmd_train does).
#include <gtest/gtest.h>

#include <cstdio>
#include <optional>

#include "ir/Interpreter.h"
#include "partition/exec/InProcessExecutor.h"
#include "partition/mesh/MeshSpec.h"
#include "partition/pipeline/PipelineStep.h"
#include "partition/plan/PartitionStep.h"
#include "passes/remat/RematPass.h"
#include "passes/training/TrainStep.h"
#include "tests/unit/pipeline/PipelineTestUtil.h"

namespace tessera::partition {
namespace {

using namespace pipeline_test;
using ir::Tensor;

constexpr int kSteps = 3;
constexpr int kMicro = 2;
constexpr int64_t kBatch = 4;  // 2 sequences per micro-batch: one per dp rank

passes::TrainStepOptions trainOptions(bool adam, int accum = 1) {
  passes::TrainStepOptions o;
  if (adam) {
    o.optimizer.kind = passes::OptimizerKind::AdamW;
    o.optimizer.lr = 1e-2;
  } else {
    o.optimizer.kind = passes::OptimizerKind::Sgd;
    o.optimizer.lr = 0.1;
    o.optimizer.momentum = 0.9;
  }
  o.accum = accum;
  return o;
}

struct TrainRun {
  std::vector<double> losses;
  std::map<std::string, Tensor> params;
  std::string error;
};

// The single-device step. MoE: its auxiliary loss is not linear in the batch, so the pipeline
// equals the step that accumulates over the same micro-batches (PipelineStep.h, docs/pipeline.md).
TrainRun singleDevice(bool adam, int64_t moeEvery) {
  TrainRun out;
  auto m = tinyGpt(4, moeEvery);
  auto info = passes::buildTrainStep(*m, trainOptions(adam, moeEvery ? kMicro : 1));
  if (!info.isOk()) return {{}, {}, info.status().message()};
  const ir::Function& f = *m->findFunction(info->function);
  std::vector<Tensor> carried;
  for (const auto* names : {&info->params, &info->state})
    for (const std::string& n : *names) carried.push_back(*m->findParam(n)->init);
  for (int step = 0; step < kSteps; ++step) {
    auto batch = tokens(kBatch, 500 + step);
    std::vector<Tensor> args;
    for (const std::string& n : info->batchArgs) args.push_back(batch.at(n));
    args.insert(args.end(), carried.begin(), carried.end());
    auto r = ir::interpret(f, args);
    if (!r.isOk()) return {{}, {}, r.status().message()};
    out.losses.push_back(r->outputs[0][0]);
    for (size_t i = 0; i < carried.size(); ++i) carried[i] = r->outputs[1 + i];
  }
  for (size_t i = 0; i < info->params.size(); ++i) out.params[info->params[i]] = carried[i];
  return out;
}

struct Config {
  std::string name;
  int64_t moeEvery;
  std::string mesh;
  std::string parallel;
  bool remat = false;
};

struct Planned {
  StatusOr<pipeline::PipelineStep> step = Status::error("not built");
  StatusOr<PartitionedPrograms> parts = Status::error("not partitioned");
};

Planned plan(const Config& c, bool adam) {
  Planned p;
  auto model = tinyGpt(4, c.moeEvery);
  pipeline::PipelineStepOptions o;
  o.schedule = {pipeline::ScheduleKind::OneFOneB, 2, kMicro, 1};
  p.step = pipeline::buildPipelineStep(*model, trainOptions(adam), o);
  if (!p.step.isOk()) return p;
  std::vector<std::string> fns;
  for (const pipeline::PipelineRankStep& rs : p.step->ranks) fns.push_back(rs.info.function);
  if (c.remat)
    for (const std::string& f : fns) {
      passes::RematOptions ro;
      ro.mode = passes::RematMode::Full;
      ro.function = f;
      auto changed = passes::runRemat(*p.step->module, ro);
      if (!changed.isOk()) {
        p.parts = changed.status();
        return p;
      }
    }
  auto mesh = parseMeshSpec(c.mesh);
  if (!mesh.isOk()) {
    p.parts = mesh.status();
    return p;
  }
  mesh->name = o.mesh;
  PartitionStepOptions po{*mesh, {}, {{"B", kBatch / kMicro}, {"S", kSeq}}};
  Status parsed = parseParallelFlag(c.parallel, po.presets);
  if (!parsed.isOk()) {
    p.parts = parsed;
    return p;
  }
  p.parts = partitionPrograms(*p.step->module, fns, o.axis, po);
  return p;
}

TrainRun pipelined(const Config& c, bool adam) {
  TrainRun out;
  Planned p = plan(c, adam);
  if (!p.step.isOk()) return {{}, {}, p.step.status().message()};
  if (!p.parts.isOk()) return {{}, {}, p.parts.status().message()};
  const int P = static_cast<int>(p.step->ranks.size());
  std::vector<std::map<std::string, Tensor>> values(P);
  for (int s = 0; s < kSteps; ++s) {
    auto batch = tokens(kBatch, 500 + s);
    std::vector<std::vector<Tensor>> inputs;
    for (int r = 0; r < P; ++r) {
      auto in = pipeline::rankStepInputs(*p.step, r, batch, values[r]);
      if (!in.isOk()) return {{}, {}, in.status().message()};
      inputs.push_back(std::move(*in));
    }
    auto res = runSpmdPrograms(p.parts->programs, "pp", inputs);
    if (!res.isOk()) return {{}, {}, res.status().message()};
    for (int r = 0; r < P; ++r) {
      const passes::TrainStepInfo& info = p.step->ranks[r].info;
      size_t k = 1;
      for (const auto* names : {&info.params, &info.state})
        for (const std::string& n : *names) values[r][n] = (*res)[r][k++];
    }
    out.losses.push_back((*res)[0][0][0]);
  }
  for (int r = 0; r < P; ++r)
    for (const std::string& n : p.step->ranks[r].owned) out.params[n] = values[r].at(n);
  return out;
}

// max_i |got_i - want_i| / max_i |want_i| (tests/unit/spmd_train/SpmdTrainTest.cpp explains why
// per-tensor scale, not per element).
double scaledError(const Tensor& got, const Tensor& want) {
  double err = 0, scale = 0;
  for (int64_t i = 0; i < want.numElements(); ++i) {
    err = std::max(err, std::abs(got[i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return scale == 0 ? err : err / scale;
}

void compare(const TrainRun& got, const TrainRun& want, bool adam) {
  ASSERT_TRUE(want.error.empty()) << want.error;
  ASSERT_TRUE(got.error.empty()) << got.error;
  ASSERT_EQ(got.losses.size(), want.losses.size());
  double lossErr = 0, paramErr = 0;
  for (size_t k = 0; k < want.losses.size(); ++k) {
    double e = std::abs(got.losses[k] - want.losses[k]) / std::abs(want.losses[k]);
    lossErr = std::max(lossErr, e);
    EXPECT_LE(e, 1e-5) << "step " << k << ": " << got.losses[k] << " vs " << want.losses[k];
  }
  ASSERT_EQ(got.params.size(), want.params.size());
  for (const auto& [n, w] : want.params) {
    auto it = got.params.find(n);
    ASSERT_NE(it, got.params.end()) << n;
    ASSERT_EQ(it->second.shape(), w.shape()) << n;
    Tensor g = it->second, e = w;
    if (adam && n.find("attn.qkv.b") != std::string::npos) {
      // The k third of the qkv bias has an exactly-zero gradient; AdamW turns its rounding
      // noise into updates of about lr (SpmdTrainTest.cpp): bounded by 2·lr·steps, then dropped.
      const int64_t H = w.numElements() / 3;
      for (int64_t i = H; i < 2 * H; ++i) {
        EXPECT_LE(std::abs(g[i] - e[i]), 2 * 1e-2 * kSteps) << n << "[" << i << "]";
        g.set(i, 0);
        e.set(i, 0);
      }
    }
    double err = scaledError(g, e);
    paramErr = std::max(paramErr, err);
    // AdamW at lr 1e-2 turns rounding differences of small gradients into updates of about lr
    // (tests/mpi/train_equivalence uses 1e-3 for that reason): measured 1.3e-5 of scale on one
    // MoE pp2 x ep2 tensor once the backward reads the forward's activations (CSE, RankPrograms.h).
    EXPECT_LE(err, adam ? 2e-5 : 1e-5) << n;
  }
  // The loss moves: the comparison is not of constant trajectories.
  EXPECT_NE(want.losses.front(), want.losses.back());
  std::printf("    max relative error: losses %.2g, parameters %.2g\n", lossErr, paramErr);
}

class PipelineSpmd : public ::testing::TestWithParam<std::tuple<Config, bool>> {};

TEST_P(PipelineSpmd, ThreeStepsEqualOneDevice) {
  const auto& [c, adam] = GetParam();
  TrainRun want = singleDevice(adam, c.moeEvery);
  compare(pipelined(c, adam), want, adam);
}

const std::vector<Config>& configs() {
  static const std::vector<Config> c = {
      {"gpt_pp2xdp2", 0, "pp=2,dp=2", "dp"},
      {"gpt_pp2xtp2_megatron", 0, "pp=2,tp=2", "megatron"},
      {"gpt_pp2xdp2_zero1", 0, "pp=2,dp=2", "zero=1"},
      // remat{mode=full} on the step functions: today it finds nothing to change there (each
      // stage's backward already recomputes its forward from the stage input, PipelineStep.h),
      // so this checks that the pass composes, not that recomputation is exact.
      {"gpt_pp2xdp2_zero1_remat", 0, "pp=2,dp=2", "zero=1", true},
      {"moe_pp2xep2", 2, "pp=2,ep=2", "expert-parallel=ep"},
      {"gpt_pp2xdp2xtp2_megatron_sp", 0, "pp=2,dp=2,tp=2", "dp,megatron,sequence-parallel"},
  };
  return c;
}

INSTANTIATE_TEST_SUITE_P(Configs, PipelineSpmd,
                         ::testing::Combine(::testing::ValuesIn(configs()), ::testing::Bool()),
                         [](const auto& p) {
                           return std::get<0>(p.param).name + (std::get<1>(p.param) ? "_adamw" : "_sgd");
                         });

// What the partitioning did, in the programs' text: under pp x dp each pipeline rank's program
// all_reduces its gradients over dp and sends/receives half-batch activations over pp; ZeRO-1
// reduce_scatters instead and all_gathers the updated parameters.
TEST(PipelineSpmdPrograms, CommunicationIsWhereTheRulesPutIt) {
  for (const char* parallel : {"dp", "zero=1"}) {
    SCOPED_TRACE(parallel);
    Planned p = plan({"x", 0, "pp=2,dp=2", parallel}, false);
    ASSERT_TRUE(p.step.isOk()) << p.step.status().message();
    ASSERT_TRUE(p.parts.isOk()) << p.parts.status().message();
    for (const SpmdProgram& prog : p.parts->programs) {
      int sends = 0, recvs = 0, dpReduce = 0, dpScatter = 0, dpGather = 0;
      for (const auto& op : prog.local->ops()) {
        if (!op->info().isCollective()) continue;
        const auto& axes = op->attrAs<ir::AxisList>("axes").axes;
        const bool dp = axes == std::vector<std::string>{"dp"};
        sends += op->kind() == ir::OpKind::Send;
        recvs += op->kind() == ir::OpKind::Recv;
        dpReduce += dp && op->kind() == ir::OpKind::AllReduce;
        dpScatter += dp && op->kind() == ir::OpKind::ReduceScatter;
        dpGather += dp && op->kind() == ir::OpKind::AllGather;
        if (op->kind() == ir::OpKind::Send || op->kind() == ir::OpKind::Recv) {
          EXPECT_EQ(axes, std::vector<std::string>{"pp"});
        }
        // An activation or gradient [B, S, H] crossing the cut travels as one dp half: B/2.
        if (op->kind() == ir::OpKind::Recv && op->result()->type().rank() == 3) {
          EXPECT_EQ(op->result()->type().shape[0].str(), "B/2") << op->result()->type().str();
        }
      }
      EXPECT_GT(sends, 0);
      EXPECT_GT(recvs, 0);
      if (std::string(parallel) == "dp") {
        EXPECT_GT(dpReduce, 0) << prog.local->name();
      } else {
        EXPECT_GT(dpScatter, 0) << prog.local->name();
        EXPECT_GT(dpGather, 0) << prog.local->name();
      }
    }
  }
}

// The other presets leave their mark too: Megatron all_reduces over tp, expert parallelism
// communicates over ep (the expert weights are split on it).
TEST(PipelineSpmdPrograms, TensorAndExpertParallelismShowInThePrograms) {
  auto countOn = [](const Planned& p, std::optional<ir::OpKind> kind, const std::string& axis) {
    int n = 0;
    for (const SpmdProgram& prog : p.parts->programs)
      for (const auto& op : prog.local->ops())
        n += op->info().isCollective() && (!kind || op->kind() == *kind) &&
             op->attrAs<ir::AxisList>("axes").axes == std::vector<std::string>{axis};
    return n;
  };
  Planned tp = plan({"x", 0, "pp=2,tp=2", "megatron"}, false);
  ASSERT_TRUE(tp.parts.isOk()) << tp.parts.status().message();
  EXPECT_GT(countOn(tp, ir::OpKind::AllReduce, "tp"), 0);
  Planned ep = plan({"x", 2, "pp=2,ep=2", "expert-parallel=ep"}, false);
  ASSERT_TRUE(ep.parts.isOk()) << ep.parts.status().message();
  EXPECT_GT(countOn(ep, std::nullopt, "ep"), 0);
}

}  // namespace
}  // namespace tessera::partition
