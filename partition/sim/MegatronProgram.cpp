// Builder of Megatron's per-rank GPT stage program (MegatronProgram.h).
#include "partition/sim/MegatronProgram.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tessera::partition::sim {

namespace {

using ir::Dim;
using ir::DType;
using ir::OpKind;
using ir::Value;
using IL = std::vector<int64_t>;
using Attrs = std::vector<std::pair<std::string, ir::AttrValue>>;

// Emits ops with a sticky error: every call after the first failure returns null.
class Emitter {
 public:
  Emitter(ir::Module& m, ir::Function& f, DType dt) : m_(m), f_(f), dt_(dt) {}

  Value* op(OpKind k, std::vector<Value*> in, Attrs attrs = {}, std::vector<ir::TensorType> decl = {}) {
    if (!st_.isOk()) return nullptr;
    for (Value* v : in)
      if (!v) return nullptr;
    ir::OpSpec spec{k, std::move(in), std::move(attrs), std::move(decl), Location{"megatron", 0, 0}};
    auto r = f_.addOp(std::move(spec));
    if (!r) { st_ = r.status(); return nullptr; }
    if (recompute_) recomputeOps.insert(*r);
    return (*r)->numResults() ? (*r)->result(0) : nullptr;
  }
  Value* param(const std::string& name, ir::Shape shape, bool expert = false) {
    ir::TensorType t{dt_, shape};
    m_.params.push_back(ir::Parameter{name, t, std::nullopt, nullptr, true, {}});
    double n = 1;
    for (const Dim& d : shape) n *= static_cast<double>(*d.constant());
    params += n;
    if (expert) expertParams += n;
    return f_.addArgument(t, name);
  }
  Value* input(const std::string& name, ir::TensorType t) { return f_.addArgument(t, name); }
  Value* named(Value* v, const std::string& n) { if (v) v->setName(n); return v; }
  // A parameter gradient: it stays resident until the optimizer step, so it is a result. With
  // main-gradient accumulation it is added into the fp32 buffer instead.
  Value* grad(Value* v, const std::string& n) {
    if (!v) return v;
    if (accumulate) {
      Value* main = input("main_" + n, {DType::F32, v->type().shape});
      v = op(OpKind::Add, {main, op(OpKind::Cast, {v}, {{"dtype", DType::F32}})});
    }
    if (v) grads.push_back(named(v, n));
    return v;
  }
  bool accumulate = false;

  Value* matmul(Value* a, Value* b) { return op(OpKind::Matmul, {a, b}); }
  // a^T b over dim 0 (weight gradients) and a b^T over dim 1 (input gradients).
  Value* dotT0(Value* a, Value* b) { return dot(a, b, {}, {}, {0}, {0}); }
  Value* dotT1(Value* a, Value* b) { return dot(a, b, {}, {}, {1}, {1}); }
  Value* dot(Value* a, Value* b, IL lb, IL rb, IL lc, IL rc) {
    return op(OpKind::Dot, {a, b}, {{"lhs_batch", lb}, {"rhs_batch", rb}, {"lhs_contract", lc},
                                    {"rhs_contract", rc}});
  }
  Value* scalar(double v) { return op(OpKind::Full, {}, {{"value", v}}, {{dt_, {}}}); }
  Value* reshape(Value* x, ir::Shape s) {
    return x ? op(OpKind::Reshape, {x}, {}, {{x->type().dtype, std::move(s)}}) : nullptr;
  }
  Value* transpose(Value* x, IL p) { return op(OpKind::Transpose, {x}, {{"perm", p}}); }
  Value* allReduce(Value* x) {
    return op(OpKind::AllReduce, {x}, {{"axes", ir::AxisList{{"tp"}}}});
  }
  Value* reduceSum(Value* x, IL axes, bool keep) {
    return op(OpKind::ReduceSum, {x}, {{"axes", axes}, {"keepdims", keep}});
  }
  // Dropout keep-mask: uniform random compared with the drop probability (one fused kernel).
  Value* keepMask(const ir::Shape& s) {
    Value* r = op(OpKind::Random, {}, {{"seed", int64_t{seed_++}},
                                       {"dist", ir::makeEnum(ir::kRandomDistEnum, ir::RandomDist::Uniform)}},
                  {{dt_, s}});
    return op(OpKind::Compare, {r, scalar(0.1)}, {{"dir", ir::makeEnum(ir::kCompareDirEnum, ir::CompareDir::Ge)}});
  }
  Value* applyMask(Value* keep, Value* x) { return keep ? op(OpKind::Select, {keep, x, scalar(0)}) : x; }

  void setRecompute(bool r) { recompute_ = r; }
  const Status& status() const { return st_; }

  std::set<const ir::Op*> recomputeOps;
  std::vector<Value*> grads;
  double params = 0;
  double expertParams = 0;

 private:
  ir::Module& m_;
  ir::Function& f_;
  DType dt_;
  Status st_;
  bool recompute_ = false;
  int64_t seed_ = 1;
};

// One layer's weights.
struct LayerParams {
  Value *ln1g, *ln1b, *wq, *wk, *wv, *wo, *ln2g, *ln2b, *w1, *w2;
  Value *wr = nullptr;  // MoE: router [h, E]; w1 [E/ep, h, f/t] and w2 [E/ep, f/t, h] are experts
};

// What the backward pass of a layer needs from its forward. With sequence parallelism ln1/ln2
// are the sequence-split LayerNorm outputs and ln1f/ln2f their all-gathered copies.
struct LayerActs {
  Value *x, *ln1, *ln1f, *q4, *k4, *v4, *probs, *keepAttn, *pd, *ctx2, *keepO, *x1, *ln2, *ln2f,
      *fc1, *g, *keepM, *y;
  Value *probs2 = nullptr, *xe = nullptr;  // MoE: router probabilities [T, E], expert inputs
};

struct Builder {
  Emitter& e;
  const MegatronStageConfig& c;
  Value* mask;  // causal, bool [s, s]
  std::set<const ir::Op*>& asyncOps;
  Value* slots = nullptr;  // MoE: i64 [S], the token row of each routed slot

  bool moe() const { return c.experts > 0; }
  int64_t El() const { return c.experts / c.ep; }
  int64_t S() const { return moeSlotRows(c); }
  Value* allToAll(Value* x) {
    if (c.ep == 1) return x;  // every expert local: nothing moves
    return e.op(OpKind::AllToAll, {x}, {{"axes", ir::AxisList{{"ep"}}}, {"split_dim", int64_t{0}},
                                        {"concat_dim", int64_t{0}}});
  }
  // Expert rows [S, h] <-> [E/ep, S/(E/ep), h].
  Value* perExpert(Value* x, int64_t w) { return e.reshape(x, {El(), S() / El(), w}); }
  // MoE forward of the normalized [T, h] rows (all-gathered under SP): router, dispatch, the
  // local experts, combine; returns the token rows [T, h], partial over tp.
  Value* moeForward(LayerActs& a, const LayerParams& p) {
    a.probs2 = e.op(OpKind::Softmax, {e.matmul(a.ln2f, p.wr)}, {{"axis", int64_t{-1}}});
    Value* sent = e.op(OpKind::Gather, {a.ln2f, slots}, {{"axis", int64_t{0}}});        // [S, h]
    a.xe = perExpert(allToAll(sent), c.hidden);
    a.fc1 = e.dot(a.xe, p.w1, {0}, {0}, {2}, {1});                                      // [El, C, f/t]
    a.g = e.op(OpKind::Gelu, {a.fc1});
    Value* ye = e.dot(a.g, p.w2, {0}, {0}, {2}, {1});                                   // [El, C, h]
    Value* back = allToAll(e.reshape(ye, {S(), c.hidden}));
    Value* gated = e.op(OpKind::Mul, {back, e.scalar(1.0)});                            // gate weights
    Value* zeros = e.op(OpKind::Full, {}, {{"value", 0.0}}, {{c.dtype, {T(), c.hidden}}});
    return e.op(OpKind::ScatterAdd, {zeros, slots, gated}, {{"axis", int64_t{0}}});
  }
  // Its backward from the token-row gradient dfc2 [T, h] (gathered under SP): the gradient of
  // the normalized rows [T, h], partial over tp (the caller's leave() reduces it).
  Value* moeBackward(Value* dfc2, const LayerActs& a, const LayerParams& p, Value* ln2f,
                     const std::string& n) {
    Value* dsent = e.op(OpKind::Gather, {dfc2, slots}, {{"axis", int64_t{0}}});
    Value* dye = perExpert(allToAll(e.op(OpKind::Mul, {dsent, e.scalar(1.0)})), c.hidden);
    e.grad(e.dot(a.g, dye, {0}, {0}, {1}, {1}), "grad." + n + ".w2");                   // [El, f/t, h]
    Value* dg = e.dot(dye, p.w2, {0}, {0}, {2}, {2});                                   // [El, C, f/t]
    Value* dfc1 = e.op(OpKind::Mul, {dg, e.op(OpKind::Tanh, {a.fc1})});
    e.grad(e.dot(a.xe, dfc1, {0}, {0}, {1}, {1}), "grad." + n + ".w1");                 // [El, h, f/t]
    Value* dxe = e.dot(dfc1, p.w1, {0}, {0}, {2}, {2});                                 // [El, C, h]
    Value* dback = allToAll(e.reshape(dxe, {S(), c.hidden}));
    Value* zeros = e.op(OpKind::Full, {}, {{"value", 0.0}}, {{c.dtype, {T(), c.hidden}}});
    Value* dx = e.op(OpKind::ScatterAdd, {zeros, slots, dback}, {{"axis", int64_t{0}}});
    // Router: softmax backward stand-in, then its weight and input gradients.
    Value* dlogits = e.op(OpKind::Mul, {a.probs2, a.probs2});
    e.grad(e.dotT0(ln2f, dlogits), "grad." + n + ".wr");
    return e.op(OpKind::Add, {dx, e.dotT1(dlogits, p.wr)});
  }

  bool sp() const { return c.sequenceParallel && c.tp > 1; }
  int64_t T() const { return c.microBatch * c.seq; }
  int64_t Tl() const { return sp() ? T() / c.tp : T(); }  // rows of the residual stream
  int64_t hl() const { return c.hidden / c.tp; }
  int64_t al() const { return c.heads / c.tp; }
  int64_t hd() const { return c.hidden / c.heads; }

  Value* layerNorm(Value* x, Value* g, Value* b) { return e.op(OpKind::LayerNorm, {x, g, b}); }
  Value* gather(Value* x) {
    return e.op(OpKind::AllGather, {x}, {{"axes", ir::AxisList{{"tp"}}}, {"dim", int64_t{0}}});
  }
  Value* scatter(Value* x) {
    return e.op(OpKind::ReduceScatter, {x}, {{"axes", ir::AxisList{{"tp"}}}, {"dim", int64_t{0}}});
  }
  // Entering a column-parallel GEMM: all-gather the sequence (SP), else nothing (f is identity).
  Value* enter(Value* x) { return sp() ? gather(x) : x; }
  // Leaving a row-parallel GEMM: reduce-scatter the sequence (SP), else all-reduce.
  Value* leave(Value* x) { return sp() ? scatter(x) : e.allReduce(x); }
  // SP's backward re-gathers a LayerNorm output for the weight gradients, overlapped with the
  // input-gradient GEMM (Korthikanti et al. 2022, 4.2.2): the gather is asynchronous.
  Value* regather(Value* ln) {
    Value* g = gather(ln);
    if (g) asyncOps.insert(g->definingOp());
    return g;
  }

  // softmax(mask(q k^T / sqrt(d))) and its dropout: what selective recompute re-runs.
  void attentionCore(LayerActs& a) {
    const int64_t b = c.microBatch, s = c.seq;
    Value* scores = e.dot(a.q4, a.k4, {0, 2}, {0, 2}, {3}, {3});  // [b, al, s, s]
    Value* scaled = e.op(OpKind::Mul, {scores, e.scalar(1.0 / std::sqrt(static_cast<double>(hd())))});
    Value* masked = e.op(OpKind::Select, {mask, scaled, e.scalar(-10000.0)});
    a.probs = e.op(OpKind::Softmax, {masked}, {{"axis", int64_t{-1}}});
    a.keepAttn = c.dropout ? e.keepMask({b, al(), s, s}) : nullptr;
    a.pd = e.applyMask(a.keepAttn, a.probs);
  }

  LayerActs forward(Value* x, const LayerParams& p) {
    LayerActs a{};
    const int64_t b = c.microBatch, s = c.seq;
    a.x = x;
    a.ln1 = layerNorm(x, p.ln1g, p.ln1b);
    a.ln1f = enter(a.ln1);
    auto heads = [&](Value* w) { return e.reshape(e.matmul(a.ln1f, w), {b, s, al(), hd()}); };
    a.q4 = heads(p.wq);
    a.k4 = heads(p.wk);
    a.v4 = heads(p.wv);
    attentionCore(a);
    Value* ctx = e.dot(a.pd, a.v4, {0, 1}, {0, 2}, {3}, {1});  // [b, al, s, hd]
    a.ctx2 = e.reshape(e.transpose(ctx, {0, 2, 1, 3}), {T(), hl()});
    Value* o = leave(e.matmul(a.ctx2, p.wo));
    a.keepO = c.dropout ? e.keepMask({Tl(), c.hidden}) : nullptr;
    a.x1 = e.op(OpKind::Add, {x, e.applyMask(a.keepO, o)});
    a.ln2 = layerNorm(a.x1, p.ln2g, p.ln2b);
    a.ln2f = enter(a.ln2);
    Value* fc2 = nullptr;
    if (moe()) {
      fc2 = leave(moeForward(a, p));
    } else {
      a.fc1 = e.matmul(a.ln2f, p.w1);
      a.g = e.op(OpKind::Gelu, {a.fc1});
      fc2 = leave(e.matmul(a.g, p.w2));
    }
    a.keepM = c.dropout ? e.keepMask({Tl(), c.hidden}) : nullptr;
    a.y = e.op(OpKind::Add, {a.x1, e.applyMask(a.keepM, fc2)});
    return a;
  }

  // LayerNorm backward stand-in: two row reductions and one fused elementwise pass for dx, two
  // column reductions for the scale and bias gradients.
  Value* layerNormBackward(Value* dy, Value* x, const std::string& name) {
    Value* s1 = e.reduceSum(e.op(OpKind::Mul, {dy, x}), {1}, true);
    Value* s2 = e.reduceSum(dy, {1}, true);
    Value* dx = e.op(OpKind::Sub, {e.op(OpKind::Sub, {dy, e.op(OpKind::Mul, {x, s1})}), s2});
    e.grad(e.reduceSum(e.op(OpKind::Mul, {dy, x}), {0}, false), "grad." + name + ".g");
    e.grad(e.reduceSum(dy, {0}, false), "grad." + name + ".b");
    return dx;
  }

  // [b, al, s, hd] -> [T, hl], as Megatron's permute + contiguous.
  Value* merge(Value* t) { return e.reshape(e.transpose(t, {0, 2, 1, 3}), {T(), hl()}); }

  Value* backward(Value* dy, LayerActs a, const LayerParams& p, const std::string& n) {
    // MLP: y = x1 + dropout(fc2 leaving tp); the backward of `leave` is `enter` and vice versa.
    Value* dfc2 = enter(e.applyMask(a.keepM, dy));
    Value* ln2f = sp() ? regather(a.ln2) : a.ln2f;
    Value* dln2 = nullptr;
    if (moe()) {
      dln2 = leave(moeBackward(dfc2, a, p, ln2f, n));
    } else {
      e.grad(e.dotT0(a.g, dfc2), "grad." + n + ".w2");
      Value* dg = e.dotT1(dfc2, p.w2);                                          // [T, f]
      Value* dfc1 = e.op(OpKind::Mul, {dg, e.op(OpKind::Tanh, {a.fc1})});     // GeLU'
      dln2 = leave(e.dotT1(dfc1, p.w1));
      e.grad(e.dotT0(ln2f, dfc1), "grad." + n + ".w1");
    }
    Value* dx1 = e.op(OpKind::Add, {dy, layerNormBackward(dln2, a.x1, n + ".ln2")});
    // Attention.
    if (c.recompute == Recompute::Selective) {
      e.setRecompute(true);
      attentionCore(a);
      e.setRecompute(false);
    }
    Value* dout = enter(e.applyMask(a.keepO, dx1));
    Value* ln1f = sp() ? regather(a.ln1) : a.ln1f;
    e.grad(e.dotT0(a.ctx2, dout), "grad." + n + ".wo");
    Value* dctx = e.transpose(e.reshape(e.dotT1(dout, p.wo), {c.microBatch, c.seq, al(), hd()}),
                              {0, 2, 1, 3});                                // [b, al, s, hd]
    Value* dpd = e.dot(dctx, a.v4, {0, 1}, {0, 2}, {3}, {3});               // [b, al, s, s]
    Value* dv = e.dot(a.pd, dctx, {0, 1}, {0, 1}, {2}, {2});                // [b, al, s, hd]
    Value* dprobs = e.applyMask(a.keepAttn, dpd);
    Value* rowsum = e.reduceSum(e.op(OpKind::Mul, {dprobs, a.probs}), {3}, true);
    Value* dscores = e.op(OpKind::Mul, {e.op(OpKind::Mul, {a.probs, e.op(OpKind::Sub, {dprobs, rowsum})}),
                                        e.scalar(1.0 / std::sqrt(static_cast<double>(hd())))});
    Value* dq = e.dot(dscores, a.k4, {0, 1}, {0, 2}, {3}, {1});             // [b, al, s, hd]
    Value* dk = e.dot(dscores, a.q4, {0, 1}, {0, 2}, {2}, {1});             // [b, al, s, hd]
    Value* dq2 = merge(dq);
    Value* dk2 = merge(dk);
    Value* dv2 = merge(dv);
    Value* dln1 = e.op(OpKind::Add, {e.op(OpKind::Add, {e.dotT1(dq2, p.wq), e.dotT1(dk2, p.wk)}),
                                     e.dotT1(dv2, p.wv)});
    dln1 = leave(dln1);
    e.grad(e.dotT0(ln1f, dq2), "grad." + n + ".wq");
    e.grad(e.dotT0(ln1f, dk2), "grad." + n + ".wk");
    e.grad(e.dotT0(ln1f, dv2), "grad." + n + ".wv");
    return e.op(OpKind::Add, {dx1, layerNormBackward(dln1, a.x, n + ".ln1")});
  }
};

Status checkConfig(const MegatronStageConfig& c) {
  auto bad = [](const std::string& m) { return Status::error("megatron stage: " + m); };
  if (c.layers < 0 || c.hidden <= 0 || c.heads <= 0 || c.seq <= 0 || c.microBatch <= 0 ||
      c.tp <= 0 || c.vocab <= 0)
    return bad("sizes must be positive");
  if (c.hidden % c.heads) return bad("hidden " + std::to_string(c.hidden) + " is not divisible by heads " + std::to_string(c.heads));
  if (c.heads % c.tp) return bad("heads " + std::to_string(c.heads) + " are not divisible by tp " + std::to_string(c.tp));
  if (c.vocab % c.tp) return bad("vocab " + std::to_string(c.vocab) + " is not divisible by tp " + std::to_string(c.tp));
  const int64_t ffn = c.ffn ? c.ffn : 4 * c.hidden;
  if (ffn < 1 || ffn % c.tp) return bad("ffn " + std::to_string(ffn) + " is not divisible by tp " + std::to_string(c.tp));
  if (c.experts < 0 || c.ep < 1 || (c.experts > 0 && c.experts % c.ep))
    return bad("experts " + std::to_string(c.experts) + " are not divisible by ep " + std::to_string(c.ep));
  if (c.experts > 0 && (c.topK < 1 || c.topK > c.experts || !(c.capacityFactor > 0)))
    return bad("top-k must be in 1..experts and the capacity factor positive");
  if (c.experts == 0 && c.ep != 1) return bad("ep " + std::to_string(c.ep) + " without experts");
  if (c.sequenceParallel && (c.microBatch * c.seq) % c.tp)
    return bad("sequence parallelism: " + std::to_string(c.microBatch * c.seq) +
               " tokens are not divisible by tp " + std::to_string(c.tp));
  return Status::ok();
}

}  // namespace

int64_t moeSlotRows(const MegatronStageConfig& c) {
  if (c.experts < 1 || c.ep < 1) return 0;
  const int64_t el = std::max<int64_t>(1, c.experts / c.ep);
  const int64_t unit = std::lcm(c.ep, el);
  const double rows = std::ceil(static_cast<double>(c.microBatch * c.seq * c.topK) * c.capacityFactor - 1e-9);
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(rows / static_cast<double>(unit)))) * unit;
}

const char* recomputeName(Recompute r) {
  switch (r) {
    case Recompute::None: return "none";
    case Recompute::Selective: return "selective";
    case Recompute::Full: return "full";
  }
  return "?";
}

StatusOr<MegatronProgram> buildMegatronStage(const MegatronStageConfig& c) {
  TRY(checkConfig(c));
  MegatronProgram prog;
  prog.module = std::make_unique<ir::Module>("megatron_stage");
  ir::Module& m = *prog.module;
  if (c.experts > 0 && c.ep > 1)
    m.meshes.push_back(ir::Mesh::make("m", {{"ep", c.ep}, {"tp", c.tp}}));
  else
    m.meshes.push_back(ir::Mesh::make("m", {{"tp", c.tp}}));
  ir::Function* f = m.addFunction("stage");
  prog.function = f;
  Emitter e(m, *f, c.dtype);
  e.accumulate = c.accumulateMainGrads;
  const int64_t T = c.microBatch * c.seq, h = c.hidden, hl = h / c.tp,
                fl = (c.ffn ? c.ffn : 4 * h) / c.tp;
  const bool moe = c.experts > 0;
  const int64_t el = moe ? c.experts / c.ep : 0;

  std::vector<LayerParams> lp;
  for (int64_t l = 0; l < c.layers; ++l) {
    std::string n = "h" + std::to_string(l);
    LayerParams p{e.param(n + ".ln1.g", {h}), e.param(n + ".ln1.b", {h}), e.param(n + ".wq", {h, hl}),
                  e.param(n + ".wk", {h, hl}), e.param(n + ".wv", {h, hl}), e.param(n + ".wo", {hl, h}),
                  e.param(n + ".ln2.g", {h}), e.param(n + ".ln2.b", {h}), nullptr, nullptr};
    if (moe) {
      p.w1 = e.param(n + ".w1", {el, h, fl}, true);
      p.w2 = e.param(n + ".w2", {el, fl, h}, true);
      p.wr = e.param(n + ".wr", {h, c.experts});
    } else {
      p.w1 = e.param(n + ".w1", {h, fl});
      p.w2 = e.param(n + ".w2", {fl, h});
    }
    lp.push_back(p);
  }
  Value* iq = e.op(OpKind::Iota, {}, {{"dim", int64_t{0}}}, {{DType::I64, {c.seq, c.seq}}});
  Value* ik = e.op(OpKind::Iota, {}, {{"dim", int64_t{1}}}, {{DType::I64, {c.seq, c.seq}}});
  Builder bld{e, c, e.op(OpKind::Compare, {iq, ik}, {{"dir", ir::makeEnum(ir::kCompareDirEnum, ir::CompareDir::Ge)}}),
              prog.asyncOps};
  const int64_t Tl = bld.Tl();
  if (moe) bld.slots = e.input("slots", {DType::I64, {bld.S()}});

  Value* wte = (c.embedding || c.head) ? e.param("wte", {c.vocab / c.tp, h}) : nullptr;
  Value* x = nullptr;
  Value* tokens = nullptr;
  if (c.embedding) {
    tokens = e.input("tokens", {DType::I64, {T}});
    // Vocab-parallel lookup, then all-reduce (reduce-scatter with SP) of the partial rows.
    x = bld.leave(e.op(OpKind::Gather, {wte, tokens}, {{"axis", int64_t{0}}}));
  } else {
    x = e.input("x", {c.dtype, {Tl, h}});
  }

  std::vector<LayerActs> acts;
  std::vector<Value*> inputs;
  prog.forwardBegin = f->numOps();
  for (int64_t l = 0; l < c.layers; ++l) {
    inputs.push_back(x);
    acts.push_back(bld.forward(x, lp[static_cast<size_t>(l)]));
    x = acts.back().y;
  }
  prog.forwardEnd = f->numOps();
  std::vector<Value*> results;
  Value* dy = nullptr;
  if (c.head) {
    Value* lnfg = e.param("lnf.g", {h});
    Value* lnfb = e.param("lnf.b", {h});
    e.input("targets", {DType::I64, {T}});
    Value* hf = bld.enter(e.op(OpKind::LayerNorm, {x, lnfg, lnfb}));
    Value* logits = e.dotT1(hf, wte);                                        // [T, V/t]
    // Megatron's vocab-parallel cross-entropy on an fp32 copy of the logits: max (all-reduced),
    // subtract, exp, sum (all-reduced), divide — each its own kernel over [T, V/t] fp32 — and
    // the target logit all-reduced; the fp32 softmax is kept for the backward.
    Value* l32 = e.op(OpKind::Cast, {logits}, {{"dtype", DType::F32}});
    Value* mx = e.op(OpKind::AllReduce, {e.op(OpKind::ReduceMax, {l32}, {{"axes", IL{1}}})},
                     {{"axes", ir::AxisList{{"tp"}}}, {"op", ir::makeEnum(ir::kReduceOpEnum, ir::ReduceOp::Max)}});
    Value* sh = e.op(OpKind::Sub, {l32, e.reshape(mx, {T, 1})});
    Value* ex = e.op(OpKind::Exp, {sh});
    Value* se = e.allReduce(e.reduceSum(ex, {1}, false));
    e.allReduce(e.reduceSum(sh, {1}, false));  // the target logit (a masked row read)
    Value* sm = e.op(OpKind::Div, {ex, e.reshape(se, {T, 1})});
    results.push_back(e.named(e.reduceSum(e.op(OpKind::Log, {se}), {0}, false), "loss"));
    // Backward: (softmax - one-hot) * dloss, cast back to 16 bits for the GEMMs.
    Value* one = e.op(OpKind::Full, {}, {{"value", 1.0}}, {{DType::F32, {}}});
    Value* dlogits = e.op(OpKind::Cast, {e.op(OpKind::Mul, {sm, one})}, {{"dtype", c.dtype}});
    e.grad(e.dotT0(hf, dlogits), "grad.wte.head");
    Value* dhf = bld.leave(e.matmul(dlogits, wte));
    dy = bld.layerNormBackward(dhf, x, "lnf");
  } else {
    dy = e.input("grad.y", {c.dtype, {Tl, h}});
    results.push_back(x);
  }
  for (int64_t l = c.layers - 1; l >= 0; --l) {
    const LayerParams& p = lp[static_cast<size_t>(l)];
    LayerActs a = acts[static_cast<size_t>(l)];
    if (c.recompute == Recompute::Full) {
      e.setRecompute(true);
      a = bld.forward(inputs[static_cast<size_t>(l)], p);
      e.setRecompute(false);
    }
    dy = bld.backward(dy, a, p, "h" + std::to_string(l));
  }
  if (c.embedding) {
    Value* zeros = e.op(OpKind::Full, {}, {{"value", 0.0}}, {{c.dtype, {c.vocab / c.tp, h}}});
    e.grad(e.op(OpKind::ScatterAdd, {zeros, tokens, bld.enter(dy)}, {{"axis", int64_t{0}}}), "grad.wte");
  } else {
    results.push_back(e.named(dy, "grad.x"));
  }
  TRY(e.status());
  results.insert(results.end(), e.grads.begin(), e.grads.end());
  f->setResults(results);
  prog.recomputeOps = std::move(e.recomputeOps);
  prog.parametersPerRank = e.params;
  prog.expertParametersPerRank = e.expertParams;
  return prog;
}

}  // namespace tessera::partition::sim
