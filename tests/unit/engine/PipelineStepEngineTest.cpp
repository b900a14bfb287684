// scratch
#include <gtest/gtest.h>

#include "codegen/Engine.h"
#include "codegen/fusion/FusionPlan.h"
#include "frontend/Zoo.h"
#include "ir/Printer.h"
#include "partition/pipeline/PipelineStep.h"
#include "passes/training/TrainStep.h"

namespace tessera::codegen {
namespace {

TEST(PipelineStepEngine, Scratch) {
  std::map<std::string, std::string> flags = {{"layers", "4"}, {"hidden", "16"}, {"heads", "4"},
                                              {"seq", "8"}, {"vocab", "257"},
                                              {"ffn", "32"}, {"seed", "3"}, {"experts", "4"}, {"group_size", "8"}};
  auto m = frontend::buildZooModel("moe-gpt", flags);
  ASSERT_TRUE(m.isOk());
  passes::TrainStepOptions ts;
  ts.optimizer.kind = passes::OptimizerKind::Sgd;
  ts.optimizer.lr = 0.1;
  ts.optimizer.momentum = 0.9;
  {
    auto m2 = frontend::buildZooModel("moe-gpt", flags);
    passes::TrainStepOptions t2 = ts;
    t2.accum = 4;
    auto info = passes::buildTrainStep(**m2, t2);
    ASSERT_TRUE(info.isOk()) << info.status().message();
    EngineOptions eo; eo.kernels = EngineOptions::Kernels::Evaluate;
    auto exe = lowerForPlanning(**m2, info->function, eo);
    EXPECT_TRUE(exe.isOk()) << exe.status().message();
    std::printf("accum reference lowered\n");
  }
  using K = partition::pipeline::ScheduleKind;
  for (auto [k, p, mb, v] : std::vector<std::tuple<K,int,int,int>>{{K::Interleaved,2,4,2},{K::OneFOneB,4,4,1}}) {
  partition::pipeline::PipelineStepOptions o;
  o.schedule = {k, p, mb, v};
  auto step = partition::pipeline::buildPipelineStep(**m, ts, o);
  ASSERT_TRUE(step.isOk()) << step.status().message();
  for (const auto& rs : step->ranks) {
    const ir::Function* f = step->module->findFunction(rs.info.function);
    FusionPlan plan = planFusion(*f);
    for (size_t g = 0; g < plan.groups.size(); ++g) {
      const FusionGroup& grp = plan.groups[g];
      if (grp.mergedInto >= 0 || grp.ops.empty()) continue;
      bool external = false;
      for (const ir::Op* op : grp.ops)
        for (const ir::Use& u : op->result()->uses()) external = external || !u.user || plan.groupOf(u.user) != (int)g;
      if (!external) {
        std::printf("== %s group %zu without outputs:\n", rs.info.function.c_str(), g);
        for (const ir::Op* op : grp.ops) {
          std::printf("  %s   (uses %zu)\n", ir::printOp(*op).c_str(), op->result()->uses().size());
          for (const ir::Use& u : op->result()->uses()) if (u.user) std::printf("     used by %s\n", ir::printOp(*u.user).c_str());
        }
        for (const ir::Op* op : grp.ops)
          for (const ir::Value* v : op->operands())
            if (v->definingOp()) std::printf("  operand def: %s\n", ir::printOp(*v->definingOp()).c_str());
      }
    }
    EngineOptions eo; eo.kernels = EngineOptions::Kernels::Evaluate;
    auto exe = lowerForPlanning(*step->module, rs.info.function, eo);
    EXPECT_TRUE(exe.isOk()) << exe.status().message();
    EngineOptions co; co.threads = 1;
    auto eng = Engine::compile(*step->module, rs.info.function, co);
    EXPECT_TRUE(eng.isOk()) << eng.status().message();
  }
  }
}

}  // namespace
}  // namespace tessera::codegen
