// The plan file's bytes (PlanFile.h).
#include "launcher/PlanFile.h"

#include <set>

#include "ir/ProtoSerializer.h"
#include "launcher/FileUtil.h"
#include "plan.pb.h"

namespace tessera::launcher {

namespace {

constexpr char kMagic[8] = {'T', 'S', 'R', 'A', 'P', 'L', 'A', 'N'};
constexpr size_t kHeaderBytes = 8 + 4 + 8;

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

void putLE(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t getLE(std::string_view s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

void toProto(const ir::Sharding& s, proto::Sharding* p) {
  p->set_mesh(s.mesh);
  for (const ir::DimSharding& d : s.dims) {
    proto::DimSharding* pd = p->add_dims();
    for (const std::string& a : d.axes) pd->add_axes(a);
  }
  for (const auto& [axis, kind] : s.partial) {
    proto::PartialAxis* pa = p->add_partial();
    pa->set_axis(axis);
    pa->set_kind(kind == ir::PartialKind::Sum ? 0 : 1);
  }
}

StatusOr<ir::Sharding> fromProto(const proto::Sharding& p, const std::string& what) {
  ir::Sharding s;
  s.mesh = p.mesh();
  for (const proto::DimSharding& d : p.dims()) {
    ir::DimSharding ds;
    ds.axes.assign(d.axes().begin(), d.axes().end());
    s.dims.push_back(std::move(ds));
  }
  for (const proto::PartialAxis& a : p.partial()) {
    if (a.kind() != 0 && a.kind() != 1)
      return Status::error(what + ": unknown partial kind " + std::to_string(a.kind()));
    s.partial.emplace_back(a.axis(), a.kind() == 0 ? ir::PartialKind::Sum : ir::PartialKind::Max);
  }
  return s;
}

// A nested error's text without its own "where: error: " prefix.
std::string plain(const Status& st) {
  const std::string& m = st.message();
  size_t at = m.find("error: ");
  return at == std::string::npos ? m : m.substr(at + 7);
}

}  // namespace

StatusOr<std::string> encodePlan(const DistributedPlan& plan) {
  proto::Plan p;
  p.set_tessera_version(plan.tesseraVersion);
  p.set_fingerprint(plan.fingerprint);
  p.set_model(plan.model);
  p.set_mesh_name(plan.mesh.name);
  for (const ir::MeshAxis& a : plan.mesh.axes) {
    proto::MeshAxis* pa = p.add_mesh_axes();
    pa->set_name(a.name);
    pa->set_size(a.size);
  }
  p.set_ranks(plan.ranks);
  p.set_function(plan.function);
  TRY_ASSIGN(std::string global, ir::serializeModule(*plan.global));
  TRY_ASSIGN(std::string local, ir::serializeModule(*plan.local));
  p.set_global_module(std::move(global));
  p.set_local_module(std::move(local));
  for (const PlanArgument& a : plan.arguments) {
    proto::Argument* pa = p.add_arguments();
    pa->set_name(a.name);
    pa->set_global_type(a.globalType);
    toProto(a.sharding, pa->mutable_sharding());
    pa->set_role(static_cast<int>(a.role));
  }
  for (const ir::Sharding& s : plan.resultShardings) toProto(s, p.add_result_shardings());
  for (const std::string& n : plan.params) p.add_params(n);
  for (const std::string& n : plan.state) p.add_state(n);
  proto::Training* t = p.mutable_training();
  t->set_optimizer(plan.optimizer);
  t->set_presets(plan.presets);
  t->set_batch(plan.data.batch);
  t->set_seq(plan.data.seq);
  t->set_tokens_arg(plan.data.tokensArg);
  t->set_targets_arg(plan.data.targetsArg);
  t->set_seed(plan.data.seed);
  t->set_data(plan.data.corpus);
  for (const std::string& w : plan.warnings) p.add_warnings(w);
  if (plan.pipeline.active()) {
    const PipelinePlan& pp = plan.pipeline;
    proto::Pipeline* pb = p.mutable_pipeline();
    pb->set_axis(pp.axis);
    pb->set_schedule(pp.schedule);
    pb->set_micro_batches(pp.microBatches);
    pb->set_virtual_stages(pp.virtualStages);
    for (const std::string& c : pp.cuts) pb->add_cuts(c);
    for (size_t r = 0; r < pp.functions.size(); ++r) {
      proto::PipelineRank* pr = pb->add_ranks();
      pr->set_function(pp.functions[r]);
      if (r < pp.argShardings.size())
        for (const ir::Sharding& s : pp.argShardings[r]) toProto(s, pr->add_arg_shardings());
      if (r < pp.resultShardings.size())
        for (const ir::Sharding& s : pp.resultShardings[r]) toProto(s, pr->add_result_shardings());
      if (r < pp.owned.size())
        for (const std::string& n : pp.owned[r]) pr->add_owned(n);
    }
  }
  std::string payload;
  if (!p.SerializeToString(&payload)) return Status::error("plan: cannot serialize the plan");
  std::string out(kMagic, sizeof kMagic);
  putLE(out, kPlanFormatVersion, 4);
  putLE(out, fnv1a(payload), 8);
  return out + payload;
}

StatusOr<DistributedPlan> decodePlan(std::string_view bytes, const std::string& path) {
  const Location where{path, 0, 0};
  auto bad = [&](const std::string& m) { return Status::error(where, m); };
  if (bytes.size() < kHeaderBytes || bytes.substr(0, 8) != std::string_view(kMagic, 8))
    return bad("not a Tessera plan file (no plan header; write one with `tessera plan -o`)");
  const uint32_t version = static_cast<uint32_t>(getLE(bytes, 8, 4));
  if (version != kPlanFormatVersion)
    return bad("plan file format version " + std::to_string(version) + ", but this Tessera (" +
               kTesseraVersion + ") reads version " + std::to_string(kPlanFormatVersion) +
               "; rebuild the plan with this tessera's `tessera plan`");
  std::string_view payload = bytes.substr(kHeaderBytes);
  if (getLE(bytes, 12, 8) != fnv1a(payload))
    return bad("the plan file is corrupt (checksum mismatch: truncated or damaged)");
  proto::Plan p;
  if (!p.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
    return bad("the plan file is corrupt (cannot parse the plan)");
  if (p.tessera_version() != kTesseraVersion)
    return bad("the plan was written by Tessera " + p.tessera_version() + "; this is Tessera " +
               kTesseraVersion + " (rebuild the plan with this tessera's `tessera plan`)");

  DistributedPlan plan;
  plan.tesseraVersion = p.tessera_version();
  plan.fingerprint = p.fingerprint();
  plan.model = p.model();
  std::vector<ir::MeshAxis> axes;
  for (const proto::MeshAxis& a : p.mesh_axes()) axes.push_back({a.name(), a.size()});
  plan.mesh = ir::Mesh::make(p.mesh_name(), std::move(axes));
  if (Status st = plan.mesh.check(); !st.isOk()) return bad("the plan's mesh: " + plain(st));
  plan.ranks = p.ranks();
  if (plan.ranks != plan.mesh.numDevices())
    return bad("the plan says " + std::to_string(plan.ranks) + " ranks but its mesh has " +
               std::to_string(plan.mesh.numDevices()) + " devices");
  plan.function = p.function();
  TRY_ASSIGN(plan.global, ir::deserializeModule(p.global_module(), path + " (global step)"));
  TRY_ASSIGN(plan.local, ir::deserializeModule(p.local_module(), path + " (rank program)"));
  const ir::Function* g = plan.global->findFunction(plan.function);
  const ir::Function* l = plan.local->findFunction(plan.function);
  if (!g || !l) return bad("the plan has no step @" + plan.function);
  if (fingerprintOf(*plan.global, plan.function) != plan.fingerprint)
    return bad("the plan's global step does not match its fingerprint " + plan.fingerprint +
               " (a plan for another model?)");
  if (p.arguments_size() != g->numArguments() || l->numArguments() != g->numArguments() ||
      l->results().size() != g->results().size() ||
      p.result_shardings_size() != static_cast<int>(g->results().size()))
    return bad("the plan's rank program does not match its global step (arity)");
  for (int i = 0; i < p.arguments_size(); ++i) {
    const proto::Argument& pa = p.arguments(i);
    PlanArgument a;
    a.name = pa.name();
    a.globalType = pa.global_type();
    if (a.name != g->argument(i)->name() || a.name != l->argument(i)->name())
      return bad("plan argument " + std::to_string(i) + " (%" + a.name +
                 ") is not the step's argument");
    if (pa.role() < 0 || pa.role() > 2)
      return bad("plan argument %" + a.name + ": unknown role " + std::to_string(pa.role()));
    a.role = static_cast<ArgRole>(pa.role());
    TRY_ASSIGN(a.sharding, fromProto(pa.sharding(), "plan argument %" + a.name));
    if (Status st = a.sharding.check(plan.mesh, g->argument(i)->type().rank(), Location{});
        !st.isOk())
      return bad("plan argument %" + a.name + ": " + plain(st));
    plan.arguments.push_back(std::move(a));
  }
  for (int i = 0; i < p.result_shardings_size(); ++i) {
    TRY_ASSIGN(ir::Sharding s, fromProto(p.result_shardings(i), "plan result"));
    if (Status st = s.check(plan.mesh, g->results()[i]->type().rank(), Location{});
        !st.isOk())
      return bad("plan result " + std::to_string(i) + ": " + plain(st));
    plan.resultShardings.push_back(std::move(s));
  }
  plan.params.assign(p.params().begin(), p.params().end());
  plan.state.assign(p.state().begin(), p.state().end());
  if (g->results().size() != plan.params.size() + plan.state.size() + 1)
    return bad("the plan's step does not return the loss and every parameter and state tensor");
  std::set<std::string> carried(plan.params.begin(), plan.params.end());
  carried.insert(plan.state.begin(), plan.state.end());
  for (const std::string& n : carried) {
    const ir::Parameter* prm = plan.global->findParam(n);
    if (!prm || !prm->init) return bad("the plan has no initial value for %" + n);
  }
  const proto::Training& t = p.training();
  plan.optimizer = t.optimizer();
  plan.presets = t.presets();
  plan.data.batch = t.batch();
  plan.data.seq = t.seq();
  plan.data.tokensArg = t.tokens_arg();
  plan.data.targetsArg = t.targets_arg();
  plan.data.seed = t.seed();
  plan.data.corpus = t.data();
  if (plan.data.batch < 0 || plan.data.seq < 0 || (plan.data.batch > 0) != (plan.data.seq > 0))
    return bad("the plan's batch and sequence sizes are invalid");
  plan.warnings.assign(p.warnings().begin(), p.warnings().end());
  if (p.has_pipeline()) {
    const proto::Pipeline& pb = p.pipeline();
    PipelinePlan& pp = plan.pipeline;
    pp.axis = pb.axis();
    pp.schedule = pb.schedule();
    pp.microBatches = pb.micro_batches();
    pp.virtualStages = pb.virtual_stages();
    pp.cuts.assign(pb.cuts().begin(), pb.cuts().end());
    const std::optional<int64_t> size = plan.mesh.axisSize(pp.axis);
    if (!size || *size != pb.ranks_size())
      return bad("the plan's pipeline has " + std::to_string(pb.ranks_size()) +
                 " step functions but its mesh's axis '" + pp.axis + "' does not have that size");
    for (const proto::PipelineRank& pr : pb.ranks()) {
      const ir::Function* f = plan.local->findFunction(pr.function());
      if (!f) return bad("the plan has no pipeline step @" + pr.function());
      std::vector<ir::Sharding> args, results;
      for (const proto::Sharding& s : pr.arg_shardings()) {
        TRY_ASSIGN(ir::Sharding sh, fromProto(s, "pipeline step @" + pr.function()));
        args.push_back(std::move(sh));
      }
      for (const proto::Sharding& s : pr.result_shardings()) {
        TRY_ASSIGN(ir::Sharding sh, fromProto(s, "pipeline step @" + pr.function()));
        results.push_back(std::move(sh));
      }
      if ((!args.empty() && static_cast<int>(args.size()) != f->numArguments()) ||
          (!results.empty() && results.size() != f->results().size()))
        return bad("the plan's pipeline step @" + pr.function() + " does not match its layouts (arity)");
      pp.functions.push_back(pr.function());
      pp.argShardings.push_back(std::move(args));
      pp.resultShardings.push_back(std::move(results));
      pp.owned.emplace_back(pr.owned().begin(), pr.owned().end());
    }
  }
  return plan;
}

Status writePlanFile(const std::string& path, const DistributedPlan& plan) {
  TRY_ASSIGN(std::string bytes, encodePlan(plan));
  return writeFileAtomically(path, bytes);
}

StatusOr<DistributedPlan> readPlanFile(const std::string& path) {
  TRY_ASSIGN(std::string bytes, readFile(path));
  return decodePlan(bytes, path);
}

}  // namespace tessera::launcher
