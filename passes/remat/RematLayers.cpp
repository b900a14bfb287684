// Forward part, layers and recompute candidates of a training step (RematLayers.h).
#include "passes/remat/RematLayers.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <unordered_map>

#include "ir/Module.h"
#include "passes/remat/RecomputeCost.h"

namespace tessera::passes {

const char* rematChoiceName(RematChoice c) {
  switch (c) {
    case RematChoice::Keep: return "keep";
    case RematChoice::Selective: return "selective";
    case RematChoice::Full: return "full";
    case RematChoice::Mlp: return "mlp";
    case RematChoice::Attn: return "attn";
    case RematChoice::AttnMlp: return "attn+mlp";
  }
  return "?";
}

char rematChoiceLetter(RematChoice c) {
  switch (c) {
    case RematChoice::Keep: return 'k';
    case RematChoice::Selective: return 's';
    case RematChoice::Full: return 'f';
    case RematChoice::Mlp: return 'm';
    case RematChoice::Attn: return 'a';
    case RematChoice::AttnMlp: return 'b';
  }
  return '?';
}

const std::vector<int>& RematLayer::recompute(RematChoice c) const {
  switch (c) {
    case RematChoice::Keep: return none_;
    case RematChoice::Selective: return selective;
    case RematChoice::Full: return candidates;
    case RematChoice::Mlp: return mlp;
    case RematChoice::Attn: return attn;
    case RematChoice::AttnMlp: return attnMlp;
  }
  return none_;
}

namespace {

// 3 for "h3.attn.qkv.w"; nullopt for names outside the `h<i>.` scheme.
std::optional<int> layerOfName(const std::string& name) {
  if (name.size() < 3 || name[0] != 'h') return std::nullopt;
  size_t i = 1;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
  if (i == 1 || i >= name.size() || name[i] != '.' || i > 9) return std::nullopt;
  return std::stoi(name.substr(1, i - 1));
}

bool isAttentionSoftmax(const ir::Op& op) {
  if (op.kind() != ir::OpKind::Softmax) return false;
  const ir::Shape& s = op.result(0)->type().shape;
  return s.size() >= 2 && s[s.size() - 1] == s[s.size() - 2];
}

}  // namespace

RematLayers findRematLayers(const ir::Function& f) {
  RematLayers out;
  const int n = f.numOps();
  std::unordered_map<const ir::Op*, int> pos;
  for (int i = 0; i < n; ++i) pos[f.ops()[i].get()] = i;

  // The forward: ancestors of the loss.
  out.forward.assign(n, false);
  if (!f.results().empty()) {
    std::vector<const ir::Op*> work;
    if (const ir::Op* d = f.results()[0]->definingOp()) work.push_back(d);
    while (!work.empty()) {
      const ir::Op* op = work.back();
      work.pop_back();
      if (out.forward[pos.at(op)]) continue;
      out.forward[pos.at(op)] = true;
      for (const ir::Value* o : op->operands())
        if (o->definingOp()) work.push_back(o->definingOp());
    }
  }

  // Trained parameters: layer parameters and the others.
  const ir::Module* m = f.module();
  std::map<const ir::Value*, int> argLayer;  // trainable args -> layer index or -1
  for (int i = 0; i < f.numArguments(); ++i) {
    const ir::Value* a = f.argument(i);
    const ir::Parameter* p = m ? m->findParam(a->name()) : nullptr;
    if (p && p->trainable) argLayer[a] = layerOfName(a->name()).value_or(-1);
  }

  // Largest layer index each forward value depends on.
  std::unordered_map<const ir::Value*, int> maxLayer;
  auto layerOf = [&](const ir::Value* v) {
    if (v->isArgument()) {
      auto it = argLayer.find(v);
      return it == argLayer.end() ? -1 : it->second;
    }
    auto it = maxLayer.find(v);
    return it == maxLayer.end() ? -1 : it->second;
  };
  std::vector<int> opLayer(n, -1);
  for (int i = 0; i < n; ++i) {
    if (!out.forward[i]) continue;
    const ir::Op& op = *f.ops()[i];
    int l = -1;
    for (const ir::Value* o : op.operands()) l = std::max(l, layerOf(o));
    opLayer[i] = l;
    for (int r = 0; r < op.numResults(); ++r) maxLayer[op.result(r)] = l;
  }
  // Non-layer parameters the embedding (layer -1 ops) uses are "before" the layers; the others
  // (final norm, untied head) mark the head.
  std::unordered_set<const ir::Value*> headParams;
  for (const auto& [a, l] : argLayer)
    if (l < 0) headParams.insert(a);
  for (int i = 0; i < n; ++i)
    if (out.forward[i] && opLayer[i] < 0)
      for (const ir::Value* o : f.ops()[i]->operands()) headParams.erase(o);
  std::unordered_set<const ir::Value*> inHead(headParams.begin(), headParams.end());
  for (int i = 0; i < n; ++i) {
    if (!out.forward[i]) continue;
    const ir::Op& op = *f.ops()[i];
    bool head = false;
    for (const ir::Value* o : op.operands()) head = head || inHead.count(o);
    if (!head) continue;
    opLayer[i] = -1;
    for (int r = 0; r < op.numResults(); ++r) inHead.insert(op.result(r));
  }

  std::map<int, RematLayer> byIndex;
  for (int i = 0; i < n; ++i)
    if (out.forward[i] && opLayer[i] >= 0) {
      RematLayer& L = byIndex[opLayer[i]];
      L.index = opLayer[i];
      L.ops.push_back(i);
    }

  std::unordered_set<const ir::Value*> returned(f.results().begin(), f.results().end());
  auto usedByBackward = [&](const ir::Value& v) {
    for (const ir::Use& u : v.uses())
      if (u.user && !out.forward[pos.at(u.user)]) return true;
    return false;
  };
  for (auto& [index, L] : byIndex) {
    std::unordered_set<int> inLayer(L.ops.begin(), L.ops.end());
    for (int i : L.ops) {
      const ir::Op& op = *f.ops()[i];
      if (op.info().hasSideEffect() || op.numResults() == 0) continue;
      if (op.numOperands() == 0 && op.result(0)->type().rank() == 0) continue;
      bool local = true;
      for (int r = 0; r < op.numResults() && local; ++r) {
        const ir::Value* v = op.result(r);
        if (returned.count(v)) local = false;
        for (const ir::Use& u : v->uses())
          if (u.user && out.forward[pos.at(u.user)] && !inLayer.count(pos.at(u.user)))
            local = false;
      }
      if (local) L.candidates.push_back(i);
    }
    // Selective: attention softmax clusters and GELUs among the candidates.
    std::unordered_set<int> cand(L.candidates.begin(), L.candidates.end());
    std::unordered_set<int> sel;
    for (int i : L.candidates) {
      const ir::Op& op = *f.ops()[i];
      if (op.kind() == ir::OpKind::Gelu) sel.insert(i);
      if (!isAttentionSoftmax(op)) continue;
      const ir::Shape& shape = op.result(0)->type().shape;
      std::vector<int> work{i};
      while (!work.empty()) {
        int j = work.back();
        work.pop_back();
        if (!sel.insert(j).second) continue;
        for (const ir::Value* o : f.ops()[j]->operands()) {
          const ir::Op* d = o->definingOp();
          if (!d || !cand.count(pos.at(d)) || o->type().shape != shape) continue;
          work.push_back(pos.at(d));
        }
      }
    }
    for (int i : L.candidates)
      if (sel.count(i)) L.selective.push_back(i);
    // The ops producing `start` from one contraction whose operands stay stored: back through
    // same-shaped candidate ops to exactly one contraction (the chain ends there), or empty when
    // there is no such chain. `chosen` is what the entry already recomputes: a contraction
    // operand in it, or one no backward op reads (then it would be dropped too), is not stored.
    auto gemmChain = [&](const ir::Value* start, const std::unordered_set<int>& chosen) {
      const ir::Shape& shape = start->type().shape;
      std::vector<int> chain;  // ops between `start` and the contraction, and the contraction
      int contraction = -1;
      std::vector<const ir::Value*> work{start};
      std::unordered_set<int> seen;
      while (!work.empty()) {
        const ir::Value* v = work.back();
        work.pop_back();
        const ir::Op* d = v->definingOp();
        if (!d || !cand.count(pos.at(d))) continue;  // stored: an argument or a kept value
        const int j = pos.at(d);
        if (!seen.insert(j).second) continue;
        if (v->type().shape != shape || d->numResults() != 1) return std::vector<int>{};
        chain.push_back(j);
        if (isContraction(*d)) {
          if (contraction >= 0) return std::vector<int>{};  // one GEMM per chain, nothing else
          contraction = j;
          continue;  // its operands are checked below, not recomputed
        }
        for (const ir::Value* o : d->operands()) work.push_back(o);
      }
      if (contraction < 0) return std::vector<int>{};
      for (const ir::Value* o : f.ops()[contraction]->operands()) {
        const ir::Op* d = o->definingOp();
        if (!d || !cand.count(pos.at(d))) continue;
        if (chosen.count(pos.at(d)) || !usedByBackward(*o)) return std::vector<int>{};
      }
      return chain;
    };
    // Mlp: selective plus each GELU's producing chain (RematLayers.h).
    auto addMlp = [&](std::unordered_set<int>& set) {
      for (int i : L.candidates) {
        const ir::Op& gelu = *f.ops()[i];
        if (gelu.kind() != ir::OpKind::Gelu) continue;
        const std::vector<int> chain = gemmChain(gelu.operand(0), set);
        set.insert(chain.begin(), chain.end());
      }
    };
    // Attn: selective plus the chains producing each attention's q, k and v (RematLayers.h).
    auto addAttn = [&](std::unordered_set<int>& set) {
      std::vector<const ir::Value*> inputs;
      for (int i : L.candidates) {
        const ir::Op& softmax = *f.ops()[i];
        if (!isAttentionSoftmax(softmax)) continue;
        // The score contractions: in selective's same-shaped chain ending at the softmax.
        const ir::Shape& shape = softmax.result(0)->type().shape;
        std::vector<const ir::Op*> work{&softmax};
        std::unordered_set<const ir::Op*> seen;
        while (!work.empty()) {
          const ir::Op* op = work.back();
          work.pop_back();
          if (!seen.insert(op).second) continue;
          if (isContraction(*op) && op != &softmax) {
            for (const ir::Value* o : op->operands()) inputs.push_back(o);
            continue;
          }
          for (const ir::Value* o : op->operands()) {
            const ir::Op* d = o->definingOp();
            if (d && cand.count(pos.at(d)) && o->type().shape == shape) work.push_back(d);
          }
        }
        // The contractions reading the probabilities: their other operands (v).
        for (const ir::Use& u : softmax.result(0)->uses())
          if (u.user && cand.count(pos.at(u.user)) && isContraction(*u.user))
            for (const ir::Value* o : u.user->operands())
              if (o != softmax.result(0)) inputs.push_back(o);
      }
      for (const ir::Value* v : inputs) {
        // Back through the head split (layout ops of one operand) to what the projection made.
        std::vector<int> layout;
        for (const ir::Op* d = v->definingOp(); d && cand.count(pos.at(d)) &&
                                                d->numResults() == 1 && d->numOperands() == 1 &&
                                                (d->kind() == ir::OpKind::Reshape ||
                                                 d->kind() == ir::OpKind::Transpose ||
                                                 d->kind() == ir::OpKind::Slice);
             d = v->definingOp()) {
          layout.push_back(pos.at(d));
          v = d->operand(0);
        }
        const std::vector<int> chain = gemmChain(v, set);
        if (chain.empty()) continue;  // no stored projection input: the head copies stay stored
        set.insert(layout.begin(), layout.end());
        set.insert(chain.begin(), chain.end());
      }
    };
    std::unordered_set<int> mlp = sel, attn = sel, attnMlp = sel;
    addMlp(mlp);
    addAttn(attn);
    addAttn(attnMlp);
    addMlp(attnMlp);
    // Every entry but keep also recomputes each normalization whose operands stay stored (its
    // input is read by its own gradient anyway): a [B,S,h] output for one pass over a row.
    auto addNorms = [&](std::unordered_set<int>& set) {
      std::vector<int> norms;
      for (int i : L.candidates) {
        const ir::Op& op = *f.ops()[i];
        if (op.kind() != ir::OpKind::LayerNorm && op.kind() != ir::OpKind::RmsNorm) continue;
        bool stored = true;
        for (const ir::Value* o : op.operands()) {
          const ir::Op* d = o->definingOp();
          if (d && cand.count(pos.at(d)) && (set.count(pos.at(d)) || !usedByBackward(*o)))
            stored = false;
        }
        if (stored) norms.push_back(i);
      }
      set.insert(norms.begin(), norms.end());
    };
    for (auto* set : {&sel, &mlp, &attn, &attnMlp}) addNorms(*set);
    L.selective.clear();
    for (int i : L.candidates) {
      if (sel.count(i)) L.selective.push_back(i);
      if (mlp.count(i)) L.mlp.push_back(i);
      if (attn.count(i)) L.attn.push_back(i);
      if (attnMlp.count(i)) L.attnMlp.push_back(i);
    }
    out.layers.push_back(std::move(L));
  }
  return out;
}

}  // namespace tessera::passes
