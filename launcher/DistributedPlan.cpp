// Building a distributed plan from a global training step, and its summary (DistributedPlan.h).
#include "launcher/DistributedPlan.h"

#include <cassert>
#include <cstdio>
#include <sstream>

#include "ir/Printer.h"
#include "partition/plan/PartitionStep.h"

namespace tessera::launcher {

const ir::Function& DistributedPlan::globalFunction() const {
  const ir::Function* f = global->findFunction(function);
  assert(f && "a plan's global module holds its step");
  return *f;
}

const ir::Function& DistributedPlan::localFunction() const {
  const ir::Function* f = local->findFunction(function);
  assert(f && "a plan's local module holds its step");
  return *f;
}

namespace {

// FNV-1a, 64 bit: a stable hash (std::hash may differ between builds).
uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::string fingerprintOf(const ir::Module& m, const std::string& function) {
  std::string text;
  if (const ir::Function* f = m.findFunction(function)) {
    // Each op's text (not printModule: that also prints every parameter's values).
    for (int i = 0; i < f->numArguments(); ++i)
      text += f->argument(i)->name() + ":" + f->argument(i)->type().str() + ";";
    for (const std::string& op : ir::printOps(*f)) text += op + "\n";
  }
  for (const ir::Parameter& p : m.params) text += p.name + ":" + p.type.str() + ";";
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(text)));
  return buf;
}

DistributedPlan planHeader(const PlanRequest& request, const passes::TrainStepInfo& info) {
  DistributedPlan plan;
  plan.model = request.model;
  plan.mesh = request.mesh;
  plan.ranks = request.mesh.numDevices();
  plan.function = info.function;
  plan.params = info.params;
  plan.state = info.state;
  plan.data = request.data;
  plan.optimizer = request.optimizer;
  plan.presets = request.presetsText;
  return plan;
}

StatusOr<DistributedPlan> buildDistributedPlan(std::unique_ptr<ir::Module> m,
                                               const passes::TrainStepInfo& info,
                                               PlanRequest request) {
  partition::PartitionStepOptions po;
  po.mesh = request.mesh;
  po.presets = request.presets;
  po.symbolValues = request.symbolValues;
  // The shardings written in the IR text: each split they ask for must survive (a dim that cannot
  // be split, e.g. a softmax's axis, would otherwise be replicated silently).
  std::vector<std::pair<const ir::Value*, ir::Sharding>> written;
  if (const ir::Function* f = m->findFunction(info.function)) {
    auto note = [&](const ir::Value* v) {
      if (v->sharding()) written.emplace_back(v, *v->sharding());
    };
    for (int i = 0; i < f->numArguments(); ++i) note(f->argument(i));
    for (const auto& op : f->ops())
      for (int r = 0; r < op->numResults(); ++r) note(op->result(r));
  }
  TRY_ASSIGN(partition::PartitionedStep step, partition::partitionStep(*m, info.function, po));
  for (const auto& [v, want] : written) {
    const std::optional<ir::Sharding>& got = v->sharding();
    for (size_t d = 0; d < want.dims.size(); ++d) {
      if (want.dims[d].axes.empty()) continue;
      if (got && d < got->dims.size() && got->dims[d].axes == want.dims[d].axes) continue;
      const ir::Op* def = v->definingOp();
      const Location loc = def ? def->loc() : Location{};
      return Status::error(loc, "%" + v->name() + " " + want.str() + ": dim " +
                                    std::to_string(d) + " cannot be split over " +
                                    want.dims[d].axes.front() +
                                    (def ? std::string(" (") + def->mnemonic() +
                                               " needs it whole)"
                                         : std::string(" (its users need it whole)")));
    }
  }
  DistributedPlan plan = planHeader(request, info);
  for (const partition::ShardingWarning& w : step.plan.warnings)
    plan.warnings.push_back(w.loc.str() + ": warning: " + w.message);
  const ir::Function& g = *m->findFunction(info.function);
  std::map<std::string, ArgRole> roles;
  for (const std::string& p : info.params) roles[p] = ArgRole::Parameter;
  for (const std::string& s : info.state) roles[s] = ArgRole::State;
  assert(step.program.argShardings.size() == static_cast<size_t>(g.numArguments()));
  for (int i = 0; i < g.numArguments(); ++i) {
    PlanArgument a;
    a.name = g.argument(i)->name();
    a.globalType = g.argument(i)->type().str();
    a.sharding = step.program.argShardings[i];
    auto it = roles.find(a.name);
    a.role = it == roles.end() ? ArgRole::Data : it->second;
    plan.arguments.push_back(std::move(a));
  }
  plan.resultShardings = step.program.resultShardings;
  // The local module names its step like the global one (SpmdPartitioner.h).
  if (!step.program.module->findFunction(info.function))
    return Status::error("plan: the partitioned module has no @" + info.function);
  plan.local = std::move(step.program.module);
  plan.global = std::move(m);
  plan.fingerprint = fingerprintOf(*plan.global, plan.function);
  return plan;
}

Status checkPlanRanks(const DistributedPlan& plan, int64_t ranks) {
  if (plan.ranks != ranks || plan.mesh.numDevices() != ranks) {
    std::string axes;
    for (const ir::MeshAxis& a : plan.mesh.axes)
      axes += (axes.empty() ? "" : ",") + a.name + "=" + std::to_string(a.size);
    return Status::error("the plan was built for " + std::to_string(plan.ranks) +
                         " ranks (mesh " + axes + ") but the job has " + std::to_string(ranks) +
                         "; run it with mpirun -np " + std::to_string(plan.ranks) +
                         ", or build a plan for this mesh size with tessera plan --mesh");
  }
  return Status::ok();
}

namespace {

std::string bytesText(int64_t b) {
  char buf[64];
  if (b >= (1 << 20))
    std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(b) / (1 << 20));
  else if (b >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(b) / 1024);
  else
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  return buf;
}

// Bytes of a local argument (constant dims only; symbolic data dims are not counted).
int64_t constantBytes(const ir::TensorType& t) {
  int64_t n = ir::dtypeBytes(t.dtype);
  for (const ir::Dim& d : t.shape) {
    std::optional<int64_t> c = d.constant();
    if (!c) return 0;
    n *= *c;
  }
  return n;
}

}  // namespace

std::string planSummary(const DistributedPlan& plan) {
  std::ostringstream out;
  std::string axes;
  for (const ir::MeshAxis& a : plan.mesh.axes)
    axes += (axes.empty() ? "" : " x ") + a.name + "=" + std::to_string(a.size);
  out << "plan for @" << plan.function << " of " << plan.model << ": mesh " << axes << " ("
      << plan.ranks << " ranks)";
  if (!plan.presets.empty()) out << ", presets " << plan.presets;
  out << ", " << plan.optimizer << "\n";
  int64_t globalParams = 0, localParams = 0, globalState = 0, localState = 0;
  const ir::Function& g = plan.globalFunction();
  const ir::Function& l = plan.localFunction();
  for (size_t i = 0; i < plan.arguments.size(); ++i) {
    const int64_t gb = constantBytes(g.argument(static_cast<int>(i))->type());
    const int64_t lb = constantBytes(l.argument(static_cast<int>(i))->type());
    if (plan.arguments[i].role == ArgRole::Parameter) {
      globalParams += gb;
      localParams += lb;
    } else if (plan.arguments[i].role == ArgRole::State) {
      globalState += gb;
      localState += lb;
    }
  }
  out << "  parameters per rank:      " << bytesText(localParams) << " of "
      << bytesText(globalParams) << "\n";
  out << "  optimizer state per rank: " << bytesText(localState) << " of "
      << bytesText(globalState) << "\n";
  // Collectives per step, by kind and axis set.
  std::map<std::string, std::map<std::string, int>> byAxes;
  for (const auto& op : l.ops()) {
    if (!op->info().isCollective()) continue;
    std::string key;
    if (op->info().attrIndex("axes") >= 0)
      if (const ir::AttrValue* a = op->attr("axes"))
      for (const std::string& ax : std::get<ir::AxisList>(*a).axes)
        key += (key.empty() ? "" : ",") + ax;
    byAxes[key.empty() ? "-" : key][op->info().mnemonic]++;
  }
  if (byAxes.empty()) out << "  collectives per step:     none\n";
  for (const auto& [key, kinds] : byAxes) {
    out << "  collectives over " << key << ":";
    for (const auto& [kind, n] : kinds) out << " " << n << " " << kind;
    out << "\n";
  }
  for (const std::string& w : plan.warnings) out << w << "\n";
  return out.str();
}

}  // namespace tessera::launcher
