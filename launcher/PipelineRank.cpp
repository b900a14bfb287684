// One rank's view of a pipeline plan (PipelineRank.h).
#include "launcher/PipelineRank.h"

#include <algorithm>

#include "partition/exec/Shards.h"

namespace tessera::launcher {

int64_t pipelineCoordinate(const DistributedPlan& plan, int64_t rank) {
  const int i = plan.mesh.axisIndex(plan.pipeline.axis);
  return i < 0 ? 0 : partition::rankCoordinates(plan.mesh, rank)[i];
}

StatusOr<PipelineRankFunction> pipelineRankFunction(const DistributedPlan& plan, int64_t rank) {
  const PipelinePlan& pl = plan.pipeline;
  if (!pl.active()) return Status::error("not a pipeline plan");
  PipelineRankFunction out;
  out.coordinate = pipelineCoordinate(plan, rank);
  if (out.coordinate >= static_cast<int64_t>(pl.functions.size()))
    return Status::error("the plan has no pipeline step for coordinate " + std::to_string(out.coordinate));
  const size_t r = static_cast<size_t>(out.coordinate);
  out.function = plan.local->findFunction(pl.functions[r]);
  if (!out.function) return Status::error("the plan has no pipeline step @" + pl.functions[r]);
  auto has = [](const std::vector<std::string>& v, const std::string& n) {
    return std::find(v.begin(), v.end(), n) != v.end();
  };
  std::vector<std::string> dataArgs;
  for (const PlanArgument& a : plan.arguments)
    if (a.role == ArgRole::Data) dataArgs.push_back(a.name);
  for (int i = 0; i < out.function->numArguments(); ++i) {
    const ir::Value* v = out.function->argument(i);
    RankArgument a;
    a.arg.name = v->name();
    a.arg.globalType = v->type().str();
    if (r < pl.argShardings.size() && !pl.argShardings[r].empty()) {
      a.arg.sharding = pl.argShardings[r][i];
    } else {
      a.arg.sharding = ir::Sharding::replicated(v->type().rank());
      a.arg.sharding.mesh = plan.mesh.name;
    }
    if (has(plan.params, v->name())) {
      a.arg.role = ArgRole::Parameter;
    } else if (has(plan.state, v->name())) {
      a.arg.role = ArgRole::State;
    } else {
      a.arg.role = ArgRole::Data;
      a.source = v->name();
      const size_t dot = v->name().rfind(".mb");
      if (dot != std::string::npos && has(dataArgs, v->name().substr(0, dot)) &&
          v->name().find_first_not_of("0123456789", dot + 3) == std::string::npos && dot + 3 < v->name().size()) {
        a.source = v->name().substr(0, dot);
        a.microBatch = std::stoi(v->name().substr(dot + 3));
      }
    }
    out.arguments.push_back(std::move(a));
  }
  if (r < pl.resultShardings.size() && !pl.resultShardings[r].empty()) {
    out.lossSharding = pl.resultShardings[r][0];
  } else {
    out.lossSharding = ir::Sharding::replicated(0);
    out.lossSharding.mesh = plan.mesh.name;
  }
  return out;
}

int64_t pipelineOwner(const DistributedPlan& plan, const std::string& name) {
  const PipelinePlan& pl = plan.pipeline;
  for (const std::string& n : {name, name.substr(0, name.rfind('.'))})
    for (size_t r = 0; r < pl.owned.size(); ++r)
      if (std::find(pl.owned[r].begin(), pl.owned[r].end(), n) != pl.owned[r].end())
        return static_cast<int64_t>(r);
  return 0;
}

bool pipelineLossGathered(const DistributedPlan& plan) {
  for (const std::vector<ir::Sharding>& r : plan.pipeline.resultShardings)
    if (!r.empty() && !r[0].isFullyReplicated()) return true;
  return false;
}

std::vector<double> pipelineCoordinatePieces(const DistributedPlan& plan, int64_t rank, const std::vector<double>& all) {
  const int ppAxis = plan.mesh.axisIndex(plan.pipeline.axis);
  const int64_t mine = pipelineCoordinate(plan, rank);
  std::vector<double> out;
  for (size_t w = 0; w < all.size(); ++w) {
    std::vector<int64_t> c = partition::rankCoordinates(plan.mesh, static_cast<int64_t>(w));
    if (ppAxis >= 0) c[ppAxis] = mine;
    int64_t from = 0;
    for (size_t a = 0; a < plan.mesh.axes.size(); ++a) from = from * plan.mesh.axes[a].size + c[a];
    out.push_back(all[static_cast<size_t>(from)]);
  }
  return out;
}

}  // namespace tessera::launcher
