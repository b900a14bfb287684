// Sharding propagation: the fixed-point iteration over factor maps, then the final per-op factor
// assignment, partial-sum bookkeeping and conflict reports. See Propagation.h for the contract.
#include "partition/propagation/Propagation.h"

#include <algorithm>
#include <climits>
#include <set>
#include <tuple>

#include "ir/Module.h"

namespace tessera::partition {

using ir::Dim;
using ir::Op;
using ir::Value;

bool dimDivisibleBy(const Dim& d, int64_t n, const ir::Module* m) {
  if (n <= 1) return true;
  if (auto c = d.constant()) return *c % n == 0;
  // Every term (p/q) * s1*s2*... must be a multiple of n given each symbol's divisibility fact
  // s_i = k_i * t_i (t_i any integer): p * k_1*k_2*... must be a multiple of q * n. A rational
  // coefficient is common in token counts: B*S/G routing groups with S divisible by G.
  for (const auto& [mono, coef] : d.terms()) {
    const int64_t mod = coef.den * n;
    int64_t g = (coef.num < 0 ? -coef.num : coef.num) % mod;
    for (const std::string& s : mono) {
      const ir::SymbolDecl* decl = m ? m->findSymbol(s) : nullptr;
      g = g * ((decl ? decl->divisibleBy : 1) % mod) % mod;
    }
    if (g % mod != 0) return false;
  }
  return true;
}

namespace {

// Lexicographically smaller = stronger: (source class, priority, derived).
// class 0 user, 1 preset, 2 filled by default.
struct Strength {
  int cls = 2;
  int prio = INT_MAX;
  int derived = 1;
  auto operator<=>(const Strength&) const = default;
};

struct DState {
  bool decided = false;
  AxisList axes;
  Strength s;
};

struct VState {
  std::vector<DState> dims;
  std::optional<PartialList> userPartial;
};

struct Cand {
  AxisList axes;
  Strength s;
  const Value* v;
  int dim;
  bool result;
};

// What propagation iterates over: an op with its factor map, or a matched send/recv pair viewed
// as one transfer from the send's operand to the receive's result (transferFactors). `reserved`:
// mesh axes the node's factors may not take (a collective's own axes: a tensor cannot be split
// over the axis it is communicated along).
struct Node {
  const Op* op = nullptr;  // null for a transfer
  std::vector<const Value*> operands, results;
  FactorMap fm;
  std::set<std::string> reserved;
};

std::set<std::string> ownAxes(const Op& op) {
  std::set<std::string> out;
  if (op.info().isCollective() || op.kind() == ir::OpKind::AxisIndex)
    for (const auto& a : op.attrAs<ir::AxisList>("axes").axes) out.insert(a);
  return out;
}

class Propagator {
 public:
  Propagator(std::vector<ir::Function*> fns, const ir::Mesh& mesh, const PropagationOptions& o,
             const std::vector<std::pair<const Op*, const Op*>>& transfers)
      : fns_(std::move(fns)), module_(fns_.front()->module()), mesh_(mesh), o_(o), transfers_(transfers) {}

  StatusOr<ShardingPlan> run() {
    plan_.meshName = mesh_.name;
    for (ir::Function* f : fns_) {
      for (int i = 0; i < f->numArguments(); ++i) TRY(init(f->argument(i), f->loc));
      for (const auto& op : f->ops()) {
        for (int r = 0; r < op->numResults(); ++r) TRY(init(op->result(r), op->loc()));
        TRY_ASSIGN(FactorMap fm, opFactors(*op));
        Node n{op.get(), {}, {}, std::move(fm), ownAxes(*op)};
        for (const Value* v : op->operands()) n.operands.push_back(v);
        for (int r = 0; r < op->numResults(); ++r) n.results.push_back(op->result(r));
        nodeOf_[op.get()] = nodes_.size();
        nodes_.push_back(std::move(n));
      }
    }
    for (const auto& [send, recv] : transfers_) {
      const Value* in = send->operand(0);
      const Value* out = recv->result();
      Node n{nullptr, {in}, {out}, transferFactors(in->type(), out->type()), ownAxes(*send)};
      for (const auto& a : ownAxes(*recv)) n.reserved.insert(a);
      nodes_.push_back(std::move(n));
    }
    for (int it = 0; it < 64; ++it) {
      bool changed = false;
      for (const Node& n : nodes_) changed |= step(n);
      for (auto it2 = nodes_.rbegin(); it2 != nodes_.rend(); ++it2) changed |= step(*it2);
      if (!changed) break;
    }
    for (auto& [v, st] : state_)
      for (DState& d : st.dims)
        if (!d.decided) d = DState{true, {}, Strength{}};
    // A receive holds exactly what its send sends: where the fixed point left them different
    // (a conflict the receiving side won), the sender's layout wins and the receiver reshards.
    for (const auto& [send, recv] : transfers_)
      if (send->operand(0)->type().rank() == recv->result()->type().rank())
        state_[recv->result()].dims = state_.at(send->operand(0)).dims;
    for (ir::Function* f : fns_)
      for (int i = 0; i < f->numArguments(); ++i) {
        Value* a = f->argument(i);
        a->setSharding(stored(a, state_[a].userPartial.value_or(PartialList{})));
      }
    for (ir::Function* f : fns_)
      for (const auto& op : f->ops()) finalizeOp(*op);
    for (ir::Function* f : fns_)
      for (const auto& op : f->ops()) warn(*op);
    return std::move(plan_);
  }

 private:
  Status init(Value* v, const Location& loc) {
    VState st;
    st.dims.resize(v->type().rank());
    if (const auto& s = v->sharding()) {
      TRY(s->check(mesh_, v->type().rank(), loc));
      TRY(checkSplittable(v, *s, loc));
      for (int d = 0; d < v->type().rank(); ++d)
        if (!s->dims[d].open)
          st.dims[d] = DState{true, s->dims[d].axes, Strength{0, s->dims[d].priority.value_or(INT_MAX), 0}};
      if (!s->partial.empty()) st.userPartial = s->partial;
    }
    if (auto it = o_.preset.find(v); it != o_.preset.end()) {
      const ir::Sharding& p = it->second;
      TRY(p.check(mesh_, v->type().rank(), loc));
      for (int d = 0; d < v->type().rank(); ++d)
        if (!st.dims[d].decided && !p.dims[d].open)
          st.dims[d] = DState{true, p.dims[d].axes, Strength{1, p.dims[d].priority.value_or(INT_MAX), 0}};
      if (!st.userPartial && !p.partial.empty()) st.userPartial = p.partial;
    }
    state_[v] = std::move(st);
    return Status::ok();
  }

  // A user annotation may only split a dim that can be split: a constant extent at least the
  // number of devices (fewer elements than devices leaves a device with nothing but padding,
  // always a mistake), a symbolic extent the module declares divisible (a local size must be an
  // exact D/n; `sym B divisible_by 2`). Presets never annotate such dims.
  Status checkSplittable(const Value* v, const ir::Sharding& s, const Location& loc) const {
    for (int d = 0; d < v->type().rank(); ++d) {
      const AxisList& axes = s.dims[d].axes;
      if (axes.empty()) continue;
      const Dim& extent = v->type().shape[d];
      const int64_t n = axisProduct(axes);
      std::string axesText;
      for (const auto& a : axes) axesText += (axesText.empty() ? "" : ",") + a;
      std::string what = "sharding " + s.str() + " of %" + v->name() + " (" + v->type().str() +
                         ") splits dim " + std::to_string(d) + " (" + extent.str() + ") over " +
                         axesText + " (" + std::to_string(n) + " devices)";
      if (auto c = extent.constant()) {
        if (*c < n) return Status::error(loc, what + ", but it has fewer elements than devices");
      } else if (!dimDivisibleBy(extent, n, module_)) {
        return Status::error(loc, what + ", but the module does not declare it divisible by " +
                                      std::to_string(n) + " (e.g. `sym " +
                                      extent.symbols().front() + " divisible_by " +
                                      std::to_string(n) + "`)");
      }
    }
    return Status::ok();
  }

  int64_t axisProduct(const AxisList& axes) const {
    int64_t n = 1;
    for (const auto& a : axes) n *= mesh_.axisSize(a).value_or(1);
    return n;
  }

  // Bytes of v at the given symbol values; unbound symbols count as 1024. `known` reports
  // whether every symbol was bound.
  double bytes(const Value* v, bool* known = nullptr) const {
    std::map<std::string, int64_t> b = o_.symbolValues;
    bool all = true;
    for (const Dim& d : v->type().shape)
      for (const auto& s : d.symbols())
        if (!b.count(s)) { b[s] = 1024; all = false; }
    if (known) *known = all;
    auto n = v->type().numElements().evaluate(b);
    return (n ? static_cast<double>(*n) : 1e12) * ir::dtypeBytes(v->type().dtype);
  }

  // Bytes moved to turn one dim's layout `from` into `to` (rough: a gather moves the tensor, a
  // split→split exchange moves a 1/n share, taking a slice is free).
  double reshardCost(const Value* v, const AxisList& from, const AxisList& to) const {
    if (from == to || from.empty()) return 0;
    double b = bytes(v);
    if (to.empty()) return b;
    return b / static_cast<double>(axisProduct(from));
  }

  std::vector<Cand> candidates(const Node& n, int f) const {
    const FactorMap& fm = n.fm;
    std::vector<Cand> out;
    for (size_t o = 0; o < n.operands.size(); ++o)
      for (size_t d = 0; d < fm.operandDims[o].size(); ++d)
        if (fm.operandDims[o][d] == f) {
          const DState& s = state_.at(n.operands[o]).dims[d];
          if (s.decided) out.push_back({s.axes, s.s, n.operands[o], static_cast<int>(d), false});
        }
    for (size_t r = 0; r < n.results.size(); ++r)
      for (size_t d = 0; d < fm.resultDims[r].size(); ++d)
        if (fm.resultDims[r][d] == f) {
          const DState& s = state_.at(n.results[r]).dims[d];
          if (s.decided) out.push_back({s.axes, s.s, n.results[r], static_cast<int>(d), true});
        }
    return out;
  }

  // The winning candidate: strongest, then cheapest for the op's other tensors.
  struct Choice {
    AxisList axes;
    Strength s;
    std::optional<AxisList> rejected;
    std::string reason;
  };
  Choice choose(const std::vector<Cand>& cs) const {
    assert(!cs.empty());
    Strength best = cs[0].s;
    for (const Cand& c : cs) best = std::min(best, c.s);
    std::vector<AxisList> options;
    for (const Cand& c : cs)
      if (c.s == best && std::find(options.begin(), options.end(), c.axes) == options.end())
        options.push_back(c.axes);
    auto cost = [&](const AxisList& a) {
      double t = 0;
      for (const Cand& c : cs)
        t += c.result ? reshardCost(c.v, a, c.axes) : reshardCost(c.v, c.axes, a);
      return t;
    };
    Choice ch{options[0], best, std::nullopt, ""};
    double bestCost = cost(options[0]);
    for (size_t i = 1; i < options.size(); ++i) {
      double c = cost(options[i]);
      if (c < bestCost) {
        ch.rejected = ch.axes;
        ch.axes = options[i];
        ch.reason = "cost " + std::to_string(static_cast<int64_t>(c)) + " < " +
                    std::to_string(static_cast<int64_t>(bestCost)) + " bytes";
        bestCost = c;
      } else {
        ch.rejected = options[i];
        ch.reason = "cost " + std::to_string(static_cast<int64_t>(bestCost)) + " <= " +
                    std::to_string(static_cast<int64_t>(c)) + " bytes";
      }
    }
    if (!ch.rejected)  // no tie: a weaker candidate that disagrees
      for (const Cand& c : cs)
        if (c.axes != ch.axes && c.s.cls < 2) {
          ch.rejected = c.axes;
          ch.reason = c.s.cls != best.cls ? (best.cls == 0 ? "user annotation" : "preset")
                      : c.s.prio != best.prio ? "priority p" + std::to_string(best.prio) + " < p" + std::to_string(c.s.prio)
                                              : "direct annotation over derived";
          break;
        }
    return ch;
  }

  // Makes `axes` legal for factor f given axes already used by stronger factors of the op.
  AxisList legalize(const Factor& fac, AxisList axes, const std::set<std::string>& used) const {
    if (fac.kind == FactorKind::Local) return {};
    AxisList out;
    for (const auto& a : axes) {
      if (used.count(a)) break;  // keep a major prefix only
      out.push_back(a);
    }
    if (fac.evenOnly)
      while (!out.empty() && (!dimDivisibleBy(fac.size, axisProduct(out), module_) ||
                              (fac.alsoDivides && !dimDivisibleBy(*fac.alsoDivides, axisProduct(out), module_))))
        out.pop_back();
    return out;
  }

  bool collides(const Value* v, int dim, const AxisList& axes) const {
    const VState& st = state_.at(v);
    for (size_t d = 0; d < st.dims.size(); ++d)
      if (static_cast<int>(d) != dim)
        for (const auto& a : axes)
          if (std::find(st.dims[d].axes.begin(), st.dims[d].axes.end(), a) != st.dims[d].axes.end())
            return true;
    return false;
  }

  bool write(const Value* v, int d, const AxisList& axes, Strength s) {
    DState& st = state_[v].dims[d];
    if (st.decided && !(s < st.s)) return false;
    if (collides(v, d, axes)) return false;
    bool changed = !st.decided || st.axes != axes;
    st = DState{true, axes, s};
    return changed;
  }

  // Factors of `op` in order of their strongest candidate, each with its choice.
  std::vector<std::pair<int, Choice>> chooseAll(const Node& n) const {
    std::vector<std::pair<int, Choice>> out;
    for (int f = 0; f < static_cast<int>(n.fm.factors.size()); ++f) {
      auto cs = candidates(n, f);
      if (!cs.empty()) out.emplace_back(f, choose(cs));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.second.s < b.second.s; });
    return out;
  }

  bool step(const Node& n) {
    const FactorMap& fm = n.fm;
    bool changed = false;
    std::set<std::string> used = n.reserved;
    for (auto& [f, ch] : chooseAll(n)) {
      AxisList axes = legalize(fm.factors[f], ch.axes, used);
      used.insert(axes.begin(), axes.end());
      Strength s = ch.s;
      s.derived = 1;
      for (size_t o = 0; o < n.operands.size(); ++o)
        for (size_t d = 0; d < fm.operandDims[o].size(); ++d)
          if (fm.operandDims[o][d] == f) changed |= write(n.operands[o], static_cast<int>(d), axes, s);
      for (size_t r = 0; r < n.results.size(); ++r)
        for (size_t d = 0; d < fm.resultDims[r].size(); ++d)
          if (fm.resultDims[r][d] == f) changed |= write(n.results[r], static_cast<int>(d), axes, s);
    }
    return changed;
  }

  ir::Sharding stored(const Value* v, PartialList partial) const {
    ir::Sharding s;
    const ir::Mesh* dflt = module_ ? module_->defaultMesh() : nullptr;
    s.mesh = dflt && dflt->name == mesh_.name ? "" : mesh_.name;
    for (const DState& d : state_.at(v).dims) {
      s.dims.push_back(ir::DimSharding{d.axes, false, std::nullopt});
      for (const auto& a : d.axes)
        std::erase_if(partial, [&](const auto& p) { return p.first == a; });
    }
    s.partial = std::move(partial);
    return s;
  }

  static bool hasAxis(const PartialList& p, const std::string& a) {
    return std::any_of(p.begin(), p.end(), [&](const auto& x) { return x.first == a; });
  }

  // Which operands pass their (sum) partial straight through, by the op's linearity.
  std::vector<PartialList> passPartials(const Op& op, const FactorMap& fm) const {
    std::vector<PartialList> pass(op.numOperands());
    auto sumPartial = [&](int o) {
      PartialList p;
      if (!fm.operandLinear[o]) return p;
      for (const auto& x : op.operand(o)->sharding()->partial)
        if (x.second == ir::PartialKind::Sum) p.push_back(x);
      return p;
    };
    using K = ir::OpKind;
    switch (op.kind()) {
      case K::Add: case K::Sub: case K::Select: case K::Concat: case K::ScatterAdd: {
        std::optional<PartialList> common;
        bool agree = true;
        for (int o = 0; o < op.numOperands(); ++o) {
          if (!fm.operandLinear[o]) continue;
          PartialList p = sumPartial(o);
          if (!common) common = p;
          else if (*common != p) agree = false;
        }
        if (agree && common && !common->empty())
          for (int o = 0; o < op.numOperands(); ++o)
            if (fm.operandLinear[o]) pass[o] = *common;
        break;
      }
      case K::Mul: case K::Dot: case K::Matmul:
        for (int o = 0; o < op.numOperands(); ++o)
          if (PartialList p = sumPartial(o); !p.empty()) { pass[o] = p; break; }
        break;
      default:
        for (int o = 0; o < op.numOperands(); ++o) pass[o] = sumPartial(o);
    }
    return pass;
  }

  void finalizeOp(const Op& op) {
    const Node& node = nodes_[nodeOf_.at(&op)];
    const FactorMap& fm = node.fm;
    OpSharding os;
    os.factors = fm;
    os.factorAxes.assign(fm.factors.size(), {});
    std::set<std::string> used = node.reserved;
    for (auto& [f, ch] : chooseAll(node)) {
      // A factor the results carry takes the result's stored axes: the result value then needs
      // no reshard after the op (the contract in ShardingPlan.h).
      AxisList want = ch.axes;
      for (int r = 0; r < op.numResults(); ++r)
        for (size_t d = 0; d < fm.resultDims[r].size(); ++d)
          if (fm.resultDims[r][d] == f) want = state_.at(op.result(r)).dims[d].axes;
      AxisList axes = legalize(fm.factors[f], want, used);
      used.insert(axes.begin(), axes.end());
      os.factorAxes[f] = axes;
      if (ch.s.cls < 2 && axes != ch.axes) {
        bool clash = std::any_of(ch.axes.begin(), ch.axes.end(), [&](const auto& x) { return used.count(x) && std::find(axes.begin(), axes.end(), x) == axes.end(); });
        std::string why = fm.factors[f].kind == FactorKind::Local ? "the factor is local to the op"
                          : clash ? "the axis splits a stronger factor of the op"
                          : fm.factors[f].evenOnly && legalize(fm.factors[f], ch.axes, {}) != ch.axes
                              ? "the split would be uneven"
                              : "the result's layout";
        plan_.decisions.push_back(ShardingDecision{&op, fm.factors[f].name, axes, ch.axes, why});
      } else if (ch.s.cls < 2 && ch.rejected && *ch.rejected != axes) {
        plan_.decisions.push_back(ShardingDecision{&op, fm.factors[f].name, axes, *ch.rejected, ch.reason});
      }
    }
    os.passPartial = passPartials(op, fm);
    PartialList natural;
    for (size_t f = 0; f < fm.factors.size(); ++f) {
      FactorKind k = fm.factors[f].kind;
      if (k == FactorKind::ReduceSum || k == FactorKind::ReduceMax)
        for (const auto& a : os.factorAxes[f])
          natural.emplace_back(a, k == FactorKind::ReduceSum ? ir::PartialKind::Sum : ir::PartialKind::Max);
    }
    for (int o = 0; o < op.numOperands(); ++o) {
      PartialList keep;
      for (const auto& p : os.passPartial[o])
        if (!used.count(p.first) && !hasAxis(natural, p.first)) keep.push_back(p);
      os.passPartial[o] = keep;
    }
    for (const auto& p : os.passPartial)
      for (const auto& x : p)
        if (!hasAxis(natural, x.first)) natural.push_back(x);
    os.resultPartial.assign(op.numResults(), natural);
    for (int r = 0; r < op.numResults(); ++r) {
      Value* v = op.result(r);
      v->setSharding(stored(v, state_.at(v).userPartial.value_or(natural)));
    }
    plan_.ops.emplace(&op, std::move(os));
  }

  void warn(const Op& op) {
    for (int o = 0; o < op.numOperands(); ++o) {
      const Value* v = op.operand(o);
      if (v->type().rank() == 0 || v->sharding()->usedAxes().empty()) continue;
      bool split = false;
      for (const auto& d : v->sharding()->dims) split |= !d.axes.empty();
      ir::Sharding need = plan_.requiredOperandSharding(&op, o);
      bool replicated = true;
      for (const auto& d : need.dims) replicated &= d.axes.empty();
      if (!split || !replicated) continue;
      bool known = false;
      double b = bytes(v, &known);
      if (known && b <= static_cast<double>(o_.largeBytes)) continue;
      std::string name = v->name().empty() ? "operand " + std::to_string(o) : "%" + v->name();
      std::string size = known ? std::to_string(static_cast<int64_t>(b)) + " bytes" : "size unknown";
      plan_.warnings.push_back(ShardingWarning{
          op.loc(), std::string(op.mnemonic()) + " needs " + name + " (" + v->type().str() + ", " +
                        size + ") fully replicated: its sharding " + v->sharding()->str() +
                        " conflicts with the op's sharding rule"});
    }
  }

  std::vector<ir::Function*> fns_;
  const ir::Module* module_;
  const ir::Mesh& mesh_;
  const PropagationOptions& o_;
  const std::vector<std::pair<const Op*, const Op*>>& transfers_;
  ShardingPlan plan_;
  std::map<const Value*, VState> state_;
  std::vector<Node> nodes_;
  std::map<const Op*, size_t> nodeOf_;
};

}  // namespace

StatusOr<ShardingPlan> propagateShardings(ir::Function& f, const ir::Mesh& mesh,
                                          const PropagationOptions& options) {
  return Propagator({&f}, mesh, options, {}).run();
}

StatusOr<ShardingPlan> propagateShardingsJointly(
    const std::vector<ir::Function*>& functions, const ir::Mesh& mesh,
    const std::vector<std::pair<const ir::Op*, const ir::Op*>>& transfers,
    const PropagationOptions& options) {
  if (functions.empty()) return Status::error("sharding propagation: no functions given");
  for (const ir::Function* f : functions)
    if (f->module() != functions.front()->module())
      return Status::error(f->loc, "sharding propagation: @" + f->name() + " is in another module");
  for (const auto& [send, recv] : transfers)
    if (send->kind() != ir::OpKind::Send || recv->kind() != ir::OpKind::Recv)
      return Status::error(send->loc(), "sharding propagation: a transfer pairs " +
                                            std::string(send->mnemonic()) + " with " + recv->mnemonic() +
                                            ", not a send with a recv");
  return Propagator(functions, mesh, options, transfers).run();
}

}  // namespace tessera::partition
