// Expert parallelism over the data-parallel axis (`--parallel dp,expert-parallel=dp`): tokens are
// split over dp by the batch, experts by the expert weights, and SHARDING.md §4's resharding
// table turns one into the other with all_to_all — dispatch before the expert MLP and combine
// after it, forward and backward — from the general mechanism (no MoE case in the partitioner).
#include <gtest/gtest.h>

#include <fstream>

#include "tests/unit/spmd_train/SpmdTrainUtil.h"

namespace tessera::spmd_train {
namespace {

struct Planned {
  std::unique_ptr<ir::Module> m;
  passes::TrainStepInfo info;
  ir::Function* f = nullptr;
  partition::PartitionedStep step;
  std::string text;
};

std::unique_ptr<Planned> planMoe(const std::string& mesh, const std::string& parallel, int64_t batch) {
  auto r = std::make_unique<Planned>();
  r->m = buildModel({true});
  if (!r->m) return nullptr;
  auto info = passes::buildTrainStep(*r->m, optimizer(false));
  EXPECT_TRUE(info.isOk()) << info.status().message();
  if (!info.isOk()) return nullptr;
  r->info = *info;
  r->f = r->m->findFunction(info->function);
  auto ms = partition::parseMeshSpec(mesh);
  EXPECT_TRUE(ms.isOk()) << ms.status().message();
  partition::PartitionStepOptions o{*ms, {}, {{"B", batch}, {"S", kSeq}}};
  Status parsed = partition::parseParallelFlag(parallel, o.presets);
  EXPECT_TRUE(parsed.isOk()) << parsed.message();
  auto p = partition::partitionStep(*r->m, info->function, o);
  EXPECT_TRUE(p.isOk()) << p.status().message();
  if (!p.isOk()) return nullptr;
  r->step = std::move(*p);
  r->text = ir::printModule(*r->step.program.module);
  return r;
}

TEST(MoeAllToAll, Dump) {
  auto r = planMoe("dp=2", "dp,expert-parallel=dp", 4);
  ASSERT_TRUE(r);
  std::ofstream("/tmp/h3moe/dp2ep.tir") << r->text;
}

}  // namespace
}  // namespace tessera::spmd_train
