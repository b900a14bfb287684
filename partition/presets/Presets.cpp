// The parallelism presets: annotations of the training step by parameter name and shape (see
// Presets.h for what each preset touches and how it finds it).
#include "partition/presets/Presets.h"

#include <algorithm>
#include <numeric>

#include "ir/Function.h"

namespace tessera::partition {

using ir::Value;

namespace {

bool endsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class Annotator {
 public:
  Annotator(const ir::Mesh& mesh, std::string meshRef) : mesh_(mesh), meshRef_(std::move(meshRef)) {}

  ir::Sharding& of(const Value* v) {
    auto it = out.find(v);
    if (it == out.end()) {
      ir::Sharding s = ir::Sharding::open(v->type().rank());
      s.mesh = meshRef_;
      it = out.emplace(v, std::move(s)).first;
    }
    return it->second;
  }
  bool used(const Value* v, const std::string& axis) {
    auto ax = of(v).usedAxes();
    return std::find(ax.begin(), ax.end(), axis) != ax.end();
  }
  // Splits dim d of v over `axis` (appended as the minor-most axis of that dim).
  void split(const Value* v, int d, const std::string& axis) {
    if (!v || d < 0 || d >= v->type().rank() || used(v, axis)) return;
    ir::DimSharding& ds = of(v).dims[d];
    ds.open = false;
    ds.axes.push_back(axis);
  }
  // Marks every still-open dim of v as explicitly not split.
  void replicateRest(const Value* v) {
    if (!v) return;
    for (auto& d : of(v).dims) d.open = false;
  }
  // The first dim of v that `axis` divides evenly and nothing splits yet; -1 if none.
  int firstDivisibleDim(const Value* v, const std::string& axis) {
    int64_t n = mesh_.axisSize(axis).value_or(1);
    const ir::Sharding& s = of(v);
    for (int d = 0; d < v->type().rank(); ++d) {
      auto c = v->type().shape[d].constant();
      if (c && *c % n == 0 && s.dims[d].axes.empty()) return d;
    }
    return -1;
  }
  // Copies the decided dims of `from`'s annotation onto `to` (same shape).
  void copy(const Value* from, const Value* to) {
    if (!to || out.find(from) == out.end() || from->type() != to->type()) return;
    ir::Sharding s = out.at(from);
    out[to] = s;
  }

  std::map<const Value*, ir::Sharding> out;

 private:
  const ir::Mesh& mesh_;
  std::string meshRef_;
};

// Errors carry the step's location (the presets annotate it) and name the mesh's axes.
Status requireAxis(const ir::Mesh& mesh, const std::string& axis, const std::string& preset,
                   const Location& loc) {
  if (mesh.axisSize(axis)) return Status::ok();
  std::string have;
  for (const auto& a : mesh.axes) have += (have.empty() ? "" : ", ") + a.name;
  return Status::error(loc, "--parallel " + preset + ": the mesh has no axis '" + axis +
                                "' (its axes: " + have + ")");
}

}  // namespace

Status parseParallelFlag(std::string_view text, PresetOptions& into) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item(text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    pos = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    if (item == "dp") into.dataParallel = true;
    else if (item == "megatron" || item == "tp") into.megatron = true;
    else if (item == "sequence-parallel" || item == "sp") into.sequenceParallel = into.megatron = true;
    else if (item.rfind("zero=", 0) == 0) {
      std::string v = item.substr(5);
      if (v != "1" && v != "2" && v != "3")
        return Status::error("--parallel '" + std::string(text) + "': zero level must be 1, 2 or 3, got '" + v + "'");
      into.zero = v[0] - '0';
      into.dataParallel = true;
    } else if (item.rfind("expert-parallel=", 0) == 0 && item.size() > 16) {
      into.expertAxis = item.substr(16);
    } else {
      return Status::error("--parallel '" + std::string(text) + "': unknown preset '" + item +
                           "' (expected dp, megatron, sequence-parallel, zero=N, expert-parallel=AXIS)");
    }
  }
  return Status::ok();
}

StatusOr<std::map<const Value*, ir::Sharding>> presetAnnotations(ir::Module& m,
                                                                 const ir::Function& step,
                                                                 const ir::Mesh& mesh,
                                                                 const PresetOptions& o) {
  if (o.zero < 0 || o.zero > 3) return Status::error("--zero must be 1, 2 or 3, got " + std::to_string(o.zero));
  const bool dp = o.dataParallel || o.zero > 0;
  if (dp) TRY(requireAxis(mesh, o.dpAxis, o.zero ? "zero" : "dp", step.loc));
  if (o.megatron || o.sequenceParallel) TRY(requireAxis(mesh, o.tpAxis, "megatron", step.loc));
  if (!o.expertAxis.empty()) TRY(requireAxis(mesh, o.expertAxis, "expert-parallel", step.loc));
  if (!m.findMesh(mesh.name)) m.meshes.push_back(mesh);
  const ir::Mesh* dflt = m.defaultMesh();
  Annotator a(mesh, dflt && dflt->name == mesh.name ? "" : mesh.name);

  // Classify the arguments (TrainStep.h): data, trained params, optimizer state.
  // Order is batch..., params..., state...; frozen parameters before the trained ones are batch.
  std::vector<const Value*> data, params, state;
  int lastTrained = -1;
  for (int i = 0; i < step.numArguments(); ++i)
    if (const ir::Parameter* p = m.findParam(step.argument(i)->name()); p && p->trainable) lastTrained = i;
  for (int i = 0; i < step.numArguments(); ++i) {
    const Value* v = step.argument(i);
    const ir::Parameter* p = m.findParam(v->name());
    if (p && p->trainable) params.push_back(v);
    else if (p && i > lastTrained) state.push_back(v);
    else if (!p) data.push_back(v);
  }
  const auto& results = step.results();
  auto paramResult = [&](size_t i) -> const Value* {
    return 1 + i < results.size() ? results[1 + i] : nullptr;
  };
  auto stateResult = [&](size_t j) -> const Value* {
    size_t k = 1 + params.size() + j;
    return k < results.size() ? results[k] : nullptr;
  };
  auto stateOf = [&](const std::string& pname) {
    std::vector<size_t> idx;
    for (size_t j = 0; j < state.size(); ++j)
      for (const char* s : {".m", ".v", ".momentum"})
        if (state[j]->name() == pname + s) idx.push_back(j);
    return idx;
  };

  if (dp) {
    for (const Value* v : data) {
      if (v->type().rank() == 0) continue;
      a.split(v, 0, o.dpAxis);
      // The batch symbol must divide by dp for the split to survive batch×sequence merges.
      if (auto sym = v->type().shape[0].asSymbol())
        for (ir::SymbolDecl& s : m.symbols)
          if (s.name == *sym) s.divisibleBy = std::lcm(s.divisibleBy, *mesh.axisSize(o.dpAxis));
    }
  }

  for (const Value* p : params) {
    const std::string& n = p->name();
    const int r = p->type().rank();
    if (o.megatron) {
      const std::string& tp = o.tpAxis;
      if (endsWith(n, ".attn.qkv.w") || endsWith(n, ".mlp.fc.w")) a.split(p, 1, tp);
      else if (endsWith(n, ".attn.qkv.b") || endsWith(n, ".mlp.fc.b")) a.split(p, 0, tp);
      else if (endsWith(n, ".attn.proj.w") || endsWith(n, ".mlp.proj.w")) a.split(p, 0, tp);
      else if (n == "wte" && r == 2) a.split(p, 0, tp);
      else if (n == "head.w" && r == 2) a.split(p, 1, tp);
      else if (endsWith(n, ".moe.fc.w") && r == 3) a.split(p, 2, tp);
      else if (endsWith(n, ".moe.fc.b") && r == 2) a.split(p, 1, tp);
      else if (endsWith(n, ".moe.proj.w") && r == 3) a.split(p, 1, tp);
    }
    if (!o.expertAxis.empty() && n.find(".moe.") != std::string::npos &&
        (endsWith(n, ".fc.w") || endsWith(n, ".fc.b") || endsWith(n, ".proj.w") || endsWith(n, ".proj.b")))
      a.split(p, 0, o.expertAxis);
    const bool annotated = a.out.count(p) > 0;
    if (dp || annotated) a.replicateRest(p);
    if (o.zero == 3) {
      int d = a.firstDivisibleDim(p, o.dpAxis);
      if (d >= 0) a.split(p, d, o.dpAxis);
    }
  }

  for (size_t i = 0; i < params.size(); ++i) {
    const Value* p = params[i];
    if (!a.out.count(p)) continue;
    a.copy(p, paramResult(i));
    // Optimizer state follows its parameter; ZeRO splits it over dp as well.
    ir::Sharding base = a.out.at(p);
    for (size_t j : stateOf(p->name())) {
      const Value* sv = state[j];
      if (sv->type() != p->type()) continue;
      a.out[sv] = base;
      if (o.zero >= 1 && o.zero < 3) {
        int d = a.firstDivisibleDim(sv, o.dpAxis);
        if (d >= 0) a.split(sv, d, o.dpAxis);
      }
      a.copy(sv, stateResult(j));
    }
    if (o.zero == 2) {
      // The final gradient: the last value named grad_<param> with the param's type.
      const Value* g = nullptr;
      for (const auto& op : step.ops())
        for (int k = 0; k < op->numResults(); ++k) {
          const Value* v = op->result(k);
          if (v->type() == p->type() && v->name().rfind("grad_" + p->name(), 0) == 0) g = v;
        }
      if (g) {
        a.out[g] = base;
        int d = a.firstDivisibleDim(g, o.dpAxis);
        if (d >= 0) a.split(g, d, o.dpAxis);
      }
    }
  }

  if (o.sequenceParallel) {
    for (const auto& op : step.ops()) {
      if (op->numResults() == 0) continue;  // send: nothing to annotate
      const Value* v = op->result(0);
      const std::string& n = v->name();
      bool residual = n == "embed" || (n.size() > 5 && n[0] == 'h' && endsWith(n, ".out"));
      if (residual && v->type().rank() == 3) a.split(v, 1, o.tpAxis);
    }
  }
  return std::move(a.out);
}

}  // namespace tessera::partition
