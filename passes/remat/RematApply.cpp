// Cloning recomputed forward ops into the backward (RematApply.h).
#include "passes/remat/RematApply.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "ir/Module.h"
#include "passes/remat/RecomputeCost.h"
#include "passes/training/FunctionInliner.h"

namespace tessera::passes {

using ir::Op;
using ir::Value;

namespace {

// Unique `.remat` names, checked against every name already in the function.
class Namer {
 public:
  explicit Namer(const ir::Function& f) {
    for (int i = 0; i < f.numArguments(); ++i) taken_.insert(f.argument(i)->name());
    for (const auto& op : f.ops())
      for (int r = 0; r < op->numResults(); ++r) taken_.insert(op->result(r)->name());
  }
  std::string fresh(const std::string& base) {
    std::string name = base + ".remat";
    for (int i = 1; taken_.count(name); ++i) name = base + ".remat" + std::to_string(i);
    taken_.insert(name);
    return name;
  }

 private:
  std::unordered_set<std::string> taken_;
};

struct LayerCloner {
  ir::Function& f;
  const std::vector<bool>& forward;           // by original position
  std::unordered_map<const Op*, int> origPos;  // original ops only
  std::unordered_set<const Op*> recompute;
  std::unordered_map<const Op*, Op*> clones;
  const std::vector<Op*>& original;  // by original position
  std::vector<const Op*>& made;       // the originals that were cloned
  Namer& namer;

  bool isBackwardUse(const ir::Use& u) const {
    if (!u.user) return false;
    auto it = origPos.find(u.user);
    return it != origPos.end() && !forward[it->second];
  }

  StatusOr<Op*> cloneBefore(const Op* op, Op* anchor) {
    if (auto it = clones.find(op); it != clones.end()) return it->second;
    ir::OpSpec spec{op->kind(), {}, {}, {}, op->loc()};
    for (Value* o : op->operands()) {
      const Op* d = o->definingOp();
      if (d && recompute.count(d)) {
        TRY_ASSIGN(Op * c, cloneBefore(d, anchor));
        spec.operands.push_back(c->result(o->resultIndex()));
      } else {
        spec.operands.push_back(o);
      }
    }
    const auto& attrSpecs = op->info().attrs;
    for (size_t i = 0; i < attrSpecs.size(); ++i)
      if (const auto& a = op->attrSlot(static_cast<int>(i))) spec.attrs.emplace_back(attrSpecs[i].name, *a);
    for (int r = 0; r < op->numResults(); ++r) spec.declared.push_back(op->result(r)->type());
    TRY_ASSIGN(Op * c, f.addOp(std::move(spec), f.indexOf(anchor)));
    for (int r = 0; r < op->numResults(); ++r) {
      const Value* from = op->result(r);
      if (from->sharding()) c->result(r)->setSharding(from->sharding());
      if (!from->name().empty()) c->result(r)->setName(namer.fresh(from->name()));
    }
    clones[op] = c;
    made.push_back(op);
    return c;
  }

  // Clones every recomputed value the backward reads, each before its first backward use, then
  // points the backward at the clones.
  Status run() {
    struct Need {
      int firstUse;
      const Value* value;
    };
    std::vector<Need> needs;
    for (const Op* op : recompute)
      for (int r = 0; r < op->numResults(); ++r) {
        const Value* v = op->result(r);
        int first = -1;
        for (const ir::Use& u : v->uses())
          if (isBackwardUse(u)) {
            int p = origPos.at(u.user);
            first = first < 0 ? p : std::min(first, p);
          }
        if (first >= 0) needs.push_back({first, v});
      }
    auto key = [&](const Need& n) {
      return std::make_tuple(n.firstUse, origPos.at(n.value->definingOp()), n.value->resultIndex());
    };
    std::sort(needs.begin(), needs.end(),
              [&](const Need& a, const Need& b) { return key(a) < key(b); });
    for (const Need& n : needs) {
      TRY(cloneBefore(n.value->definingOp(), original[n.firstUse]).status());
    }
    for (const Need& n : needs) {
      Value* v = const_cast<Value*>(n.value);
      Value* c = clones.at(v->definingOp())->result(v->resultIndex());
      std::vector<ir::Use> uses = v->uses();
      for (const ir::Use& u : uses)
        if (isBackwardUse(u)) u.user->setOperand(u.index, c);
    }
    return Status::ok();
  }
};

}  // namespace

StatusOr<RematApplied> applyRemat(ir::Function& f, const RematLayers& layers,
                                  const std::vector<RematChoice>& choices,
                                  const std::map<std::string, int64_t>* symbols) {
  return applyRemat(f, layers, choices, symbols, RecomputeRates{});
}

StatusOr<RematApplied> applyRemat(ir::Function& f, const RematLayers& layers,
                                  const std::vector<RematChoice>& choices,
                                  const std::map<std::string, int64_t>* symbols,
                                  const RecomputeRates& rates) {
  assert(choices.size() == layers.layers.size());
  assert(static_cast<int>(layers.forward.size()) == f.numOps());
  std::unordered_map<const Op*, int> origPos;
  std::vector<Op*> original;
  for (int i = 0; i < f.numOps(); ++i) {
    origPos[f.ops()[i].get()] = i;
    original.push_back(f.ops()[i].get());
  }
  RematApplied out;
  // FLOPs first: a missing symbol must fail before the function changes.
  std::unordered_map<const Op*, int64_t> flopsOf;
  std::unordered_map<const Op*, int64_t> nanosOf;
  for (size_t l = 0; l < layers.layers.size() && symbols; ++l)
    for (int i : layers.layers[l].recompute(choices[l])) {
      TRY_ASSIGN(flopsOf[original[i]], opFlops(*original[i], *symbols));
      TRY_ASSIGN(double seconds, opRecomputeSeconds(*original[i], *symbols, rates));
      nanosOf[original[i]] = std::llround(seconds * 1e9);
    }
  std::vector<std::vector<const Op*>> made(layers.layers.size());
  Namer namer(f);
  for (size_t l = 0; l < layers.layers.size(); ++l) {
    LayerCloner c{f, layers.forward, origPos, {}, {}, original, made[l], namer};
    for (int i : layers.layers[l].recompute(choices[l])) c.recompute.insert(original[i]);
    if (c.recompute.empty()) continue;
    TRY(c.run());
  }
  for (size_t l = 0; l < made.size(); ++l) {
    int64_t flops = 0;
    int64_t nanos = 0;
    for (const Op* op : made[l]) {
      flops += symbols ? flopsOf.at(op) : 0;
      nanos += symbols ? nanosOf.at(op) : 0;
    }
    out.layerFlops.push_back(flops);
    out.flops += flops;
    out.layerNanos.push_back(nanos);
    out.nanos += nanos;
  }
  for (const auto& op : f.ops())
    if (!origPos.count(op.get())) out.clones.push_back(op.get());
  return out;
}

StatusOr<FunctionCopy> copyFunction(const ir::Function& f) {
  FunctionCopy c;
  c.module = std::make_unique<ir::Module>(f.module() ? f.module()->name : "");
  if (const ir::Module* m = f.module()) {
    c.module->meshes = m->meshes;
    c.module->symbols = m->symbols;
    c.module->params = m->params;
  }
  c.function = c.module->addFunction(f.name());
  c.function->loc = f.loc;
  c.function->returnLoc = f.returnLoc;
  std::vector<Value*> args;
  for (int i = 0; i < f.numArguments(); ++i) {
    const Value* a = f.argument(i);
    args.push_back(c.function->addArgument(a->type(), a->name(), a->sharding()));
  }
  TRY_ASSIGN(std::vector<Value*> results, inlineFunction(f, *c.function, args, std::nullopt));
  c.function->setResults(results);
  return c;
}

}  // namespace tessera::passes
