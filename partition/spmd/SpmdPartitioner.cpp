// The SPMD partitioner driver: walks the global function once, keeping for every global value its
// local value and the layout that local value actually has; see SpmdPartitioner.h.
#include "partition/spmd/SpmdPartitioner.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <set>

#include "partition/spmd/LocalLayout.h"
#include "partition/spmd/OpLowering.h"
#include "partition/spmd/Reshard.h"

namespace tessera::partition {

using ir::OpKind;
using ir::Value;

namespace {

ir::Sharding shardingOrReplicated(const Value* v) {
  if (v->sharding()) return layoutOf(*v->sharding(), v->type().rank());
  return ir::Sharding::replicated(v->type().rank());
}

bool isReduce(FactorKind k) { return k == FactorKind::ReduceSum || k == FactorKind::ReduceMax; }

Status opError(const ir::Op& op, const std::string& msg) {
  return Status::error(op.loc(), std::string(op.mnemonic()) + ": " + msg);
}

// The factor axes the lowering uses: the plan's, minus splits it cannot run locally — a Local
// factor, a result-only factor (a sliced/padded/concatenated dim, the depth of one_hot, every
// dim of a creation op: computed whole, then sliced by whichever consumer needs it), an evenOnly
// factor the axes do not divide.
std::vector<AxisNames> effectiveAxes(const ir::Mesh& mesh, const ir::Op& op, const FactorMap& fm,
                                     const std::vector<AxisNames>& planned) {
  std::vector<AxisNames> out = planned;
  out.resize(fm.factors.size());
  std::vector<bool> onOperand(fm.factors.size(), false);
  for (const auto& dims : fm.operandDims)
    for (int f : dims)
      if (f >= 0) onOperand[f] = true;
  for (size_t f = 0; f < out.size(); ++f) {
    const Factor& fac = fm.factors[f];
    // A receive's factors live on its result only, yet it receives a piece, not a whole tensor.
    bool resultOnly = !onOperand[f] && op.kind() != OpKind::Recv;
    bool drop = fac.kind == FactorKind::Local || resultOnly ||
                (fac.evenOnly && (!isEvenSplit(fac.size, axesSize(mesh, out[f])) ||
                                  (fac.alsoDivides && !isEvenSplit(*fac.alsoDivides, axesSize(mesh, out[f])))));
    if (drop) out[f].clear();
  }
  return out;
}

struct LocalValue {
  Value* value = nullptr;
  ir::Sharding layout;
};

std::vector<std::string> partialAxes(const ir::Sharding& s) {
  std::vector<std::string> out;
  for (const auto& [a, k] : s.partial) out.push_back(a);
  std::sort(out.begin(), out.end());
  return out;
}

// Which operands keep their pending partials (SpmdPartitioner.h, step 1).
std::vector<bool> passThrough(const ir::Op& op, const FactorMap& fm,
                              const std::vector<AxisNames>& axes,
                              const std::vector<ir::Sharding>& cur) {
  const int n = op.numOperands();
  std::vector<bool> pass(n, false);
  std::set<std::string> used;
  for (const auto& a : axes) used.insert(a.begin(), a.end());
  std::vector<int> partialOps;
  for (int o = 0; o < n; ++o)
    if (!cur[o].partial.empty()) partialOps.push_back(o);
  if (partialOps.empty()) return pass;
  for (int o : partialOps) {
    if (o >= static_cast<int>(fm.operandLinear.size()) || !fm.operandLinear[o]) return pass;
    for (const auto& [a, k] : cur[o].partial)
      if (k != ir::PartialKind::Sum || used.count(a)) return pass;
  }
  const bool additive = op.kind() == OpKind::Add || op.kind() == OpKind::Sub ||
                        op.kind() == OpKind::Concat || op.kind() == OpKind::Select;
  if (additive) {
    // Every operand the op is linear in must be partial the same way (x + y of two partial
    // sums is the partial sum of x + y; a replicated y would be added n times).
    std::vector<std::string> first = partialAxes(cur[partialOps[0]]);
    for (int o = 0; o < n; ++o)
      if (fm.operandLinear[o] && partialAxes(cur[o]) != first) return pass;
  } else if (partialOps.size() != 1) {
    return pass;
  }
  for (int o : partialOps) pass[o] = true;
  return pass;
}

ir::Sharding layoutFromFactors(const std::vector<int>& dims, const std::vector<AxisNames>& axes) {
  ir::Sharding s;
  for (int f : dims) s.dims.push_back(ir::DimSharding{f < 0 ? AxisNames{} : axes[f], false, std::nullopt});
  return s;
}

}  // namespace

StatusOr<ShardingPlan> planFromAnnotations(const ir::Function& f) {
  ShardingPlan plan;
  const ir::Module* m = f.module();
  for (int i = 0; i < f.numArguments() && plan.meshName.empty(); ++i)
    if (auto& s = f.argument(i)->sharding()) plan.meshName = s->mesh;
  if (plan.meshName.empty() && m && m->defaultMesh()) plan.meshName = m->defaultMesh()->name;
  const ir::Mesh* mesh = m ? m->findMesh(plan.meshName) : nullptr;
  if (!mesh) return Status::error(f.loc, "@" + f.name() + ": no mesh to partition over");
  // The layout of each value as far as known: its annotation, else the natural layout of the op
  // that made it (a forward pass, so annotating the arguments is enough for a simple plan).
  std::map<const Value*, ir::Sharding> known;
  for (int i = 0; i < f.numArguments(); ++i) known[f.argument(i)] = shardingOrReplicated(f.argument(i));
  for (const auto& opPtr : f.ops()) {
    const ir::Op& op = *opPtr;
    TRY_ASSIGN(FactorMap fm, opFactors(op));
    OpSharding os;
    os.factorAxes.assign(fm.factors.size(), {});
    std::set<std::string> used;
    // An annotated result dim decides its factor even when it says "not split"; an operand's
    // layout only offers a split (the first operand split on a factor wins).
    std::vector<bool> decided(fm.factors.size(), false);
    auto offer = [&](int factor, const ir::Sharding* s, int d, bool decides) {
      if (factor < 0 || decided[factor] || !s) return;
      if (d >= static_cast<int>(s->dims.size()) || s->dims[d].open) return;
      if (s->dims[d].axes.empty()) {
        decided[factor] = decides;
        return;
      }
      const AxisNames& axes = s->dims[d].axes;
      const Factor& fac = fm.factors[factor];
      if (fac.kind == FactorKind::Local) return;
      if (fac.evenOnly && (!isEvenSplit(fac.size, axesSize(*mesh, axes)) ||
                           (fac.alsoDivides && !isEvenSplit(*fac.alsoDivides, axesSize(*mesh, axes)))))
        return;
      for (const std::string& a : axes)
        if (used.count(a)) return;
      os.factorAxes[factor] = axes;
      decided[factor] = true;
      used.insert(axes.begin(), axes.end());
    };
    for (int r = 0; r < op.numResults(); ++r) {
      const auto& ann = op.result(r)->sharding();
      for (int d = 0; d < op.result(r)->type().rank(); ++d)
        offer(fm.resultDims[r][d], ann ? &*ann : nullptr, d, true);
    }
    for (int o = 0; o < op.numOperands(); ++o) {
      auto it = known.find(op.operand(o));
      for (int d = 0; d < op.operand(o)->type().rank(); ++d)
        offer(fm.operandDims[o][d], it == known.end() ? nullptr : &it->second, d, false);
    }
    std::vector<AxisNames> eff = effectiveAxes(*mesh, op, fm, os.factorAxes);
    for (int r = 0; r < op.numResults(); ++r) {
      const Value* v = op.result(r);
      known[v] = v->sharding() ? layoutOf(*v->sharding(), v->type().rank())
                               : layoutFromFactors(fm.resultDims[r], eff);
    }
    os.passPartial.assign(op.numOperands(), {});
    os.resultPartial.assign(op.numResults(), {});
    os.factors = std::move(fm);
    plan.ops.emplace(&op, std::move(os));
  }
  return plan;
}

StatusOr<SpmdProgram> partitionSpmd(const ir::Function& global, const ShardingPlan* planIn) {
  const ir::Module* gm = global.module();
  if (!gm) return Status::error(global.loc, "@" + global.name() + " is not in a module");
  ShardingPlan derived;
  if (!planIn) {
    TRY_ASSIGN(derived, planFromAnnotations(global));
    planIn = &derived;
  }
  const ShardingPlan& plan = *planIn;

  SpmdProgram out;
  out.module = std::make_unique<ir::Module>(gm->name);
  out.module->meshes = gm->meshes;
  out.module->symbols = gm->symbols;
  out.mesh = out.module->findMesh(plan.meshName);
  if (!out.mesh && plan.meshName.empty()) out.mesh = out.module->defaultMesh();
  if (!out.mesh)
    return Status::error(global.loc, "@" + global.name() + ": unknown mesh @" + plan.meshName);
  const ir::Mesh& mesh = *out.mesh;
  ir::Function* local = out.module->addFunction(global.name());
  local->loc = global.loc;
  local->returnLoc = global.returnLoc;
  out.local = local;
  LocalBuilder b(*local, mesh, mesh.name);

  std::map<const Value*, LocalValue> env;
  // Each (value, layout) is communicated once: later consumers needing the same layout reuse it
  // (one all_reduce of a partial sum however many consumers want it whole).
  std::map<std::pair<const Value*, std::string>, Value*> resharded;
  auto reshardOnce = [&](const Value* v, const ir::Sharding& need) -> StatusOr<Value*> {
    const LocalValue& lv = env.at(v);
    ir::Sharding want = layoutOf(need, v->type().rank());
    if (layoutOf(lv.layout, v->type().rank()) == want) return lv.value;
    auto key = std::make_pair(v, want.str());
    if (auto it = resharded.find(key); it != resharded.end()) return it->second;
    TRY_ASSIGN(Value * r, reshard(b, lv.value, v->type(), lv.layout, want));
    resharded[key] = r;
    return r;
  };
  for (int i = 0; i < global.numArguments(); ++i) {
    const Value* arg = global.argument(i);
    ir::Sharding s = shardingOrReplicated(arg);
    TRY(s.check(mesh, arg->type().rank(), global.loc));
    Value* la = local->addArgument(localType(mesh, arg->type(), s), arg->name());
    out.argShardings.push_back(s);
    env[arg] = {la, s};
  }

  for (const auto& opPtr : global.ops()) {
    const ir::Op& op = *opPtr;
    b.loc = op.loc();
    const OpSharding* os = plan.find(&op);
    if (!os) return opError(op, "has no sharding in the plan");
    const FactorMap& fm = os->factors;
    std::vector<AxisNames> axes = effectiveAxes(mesh, op, fm, os->factorAxes);
    // Communication already in the global program (a pipeline's send/recv and its all_reduce
    // over pp) stays as it is, on local pieces: each device communicates its own piece along
    // the op's axes, which therefore must not split the tensor itself.
    if (op.info().isCollective() || op.kind() == OpKind::AxisIndex) {
      std::set<std::string> own;
      for (const auto& a : op.attrAs<ir::AxisList>("axes").axes) own.insert(a);
      for (const auto& fa : axes)
        for (const auto& a : fa)
          if (own.count(a))
            return opError(op, "communicates along mesh axis '" + a +
                                   "', which also splits its tensor; only axes the program does "
                                   "not shard may carry communication already in it");
    }

    std::vector<ir::Sharding> cur;
    for (const Value* v : op.operands()) cur.push_back(env.at(v).layout);
    std::vector<bool> pass = passThrough(op, fm, axes, cur);

    // Reduction factors that are split make the result partial over their axes.
    std::vector<std::pair<std::string, ir::PartialKind>> reducePartial;
    for (size_t f = 0; f < fm.factors.size(); ++f)
      if (isReduce(fm.factors[f].kind))
        for (const std::string& a : axes[f])
          reducePartial.emplace_back(a, fm.factors[f].kind == FactorKind::ReduceMax
                                            ? ir::PartialKind::Max
                                            : ir::PartialKind::Sum);

    LoweringInput in{op, fm, axes, {}, {}};
    std::vector<std::pair<std::string, ir::PartialKind>> passed;
    for (int o = 0; o < op.numOperands(); ++o) {
      const Value* v = op.operand(o);
      ir::Sharding need = layoutFromFactors(fm.operandDims[o], axes);
      if (pass[o]) {
        need.partial = cur[o].partial;
        if (passed.empty()) passed = cur[o].partial;
      }
      // scatter_add over split tokens: each device adds its updates to its share of the base,
      // so the base itself must be a partial sum over those axes.
      if (op.kind() == OpKind::ScatterAdd && o == 0)
        for (const auto& p : reducePartial) need.partial.push_back(p);
      TRY_ASSIGN(Value * lv, reshardOnce(v, need));
      in.operands.push_back(lv);
    }

    std::vector<ir::Sharding> resultLayouts;
    for (int r = 0; r < op.numResults(); ++r) {
      ir::Sharding s = layoutFromFactors(fm.resultDims[r], axes);
      if (r == 0) {
        s.partial = passed;
        for (const auto& p : reducePartial) s.partial.push_back(p);
      }
      in.resultTypes.push_back(localType(mesh, op.result(r)->type(), s));
      resultLayouts.push_back(std::move(s));
    }
    TRY_ASSIGN(std::vector<Value*> results, lowerOp(b, in));
    for (int r = 0; r < op.numResults(); ++r) {
      results[r]->setName(op.result(r)->name());
      env[op.result(r)] = {results[r], resultLayouts[r]};
    }
  }

  std::vector<Value*> results;
  b.loc = global.returnLoc;
  for (const Value* v : global.results()) {
    ir::Sharding want = shardingOrReplicated(v);
    TRY_ASSIGN(Value * r, reshardOnce(v, want));
    results.push_back(r);
    out.resultShardings.push_back(want);
    out.globalResultTypes.push_back(v->type());
  }
  local->setResults(results);
  return out;
}

}  // namespace tessera::partition
