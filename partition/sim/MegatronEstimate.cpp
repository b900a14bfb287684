// Assembles a Megatron step from simulated per-rank programs (MegatronEstimate.h).
#include "partition/sim/MegatronEstimate.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "partition/cost/CollectiveCost.h"
#include "partition/cost/ProgramCost.h"
#include "partition/sim/MegatronProgram.h"
#include "partition/sim/MegatronRecompute.h"
#include "partition/sim/Simulator.h"

namespace tessera::partition::sim {

const std::vector<MegatronRun>& sc21Table1() {
  // name, layers, hidden, heads, tp, pp, gpus, global batch, micro-batch, virtual stages, TFLOP/s,
  // DDP=local (the script's DDP column; rows with DDP=torch keep 16-bit gradients in the params)
  static const std::vector<MegatronRun> rows = {
      {"1.7B", 24, 2304, 24, 1, 1, 32, 512, 16, 1, 137},
      {"3.6B", 30, 3072, 32, 2, 1, 64, 512, 16, 1, 138},
      {"7.5B", 36, 4096, 32, 4, 1, 128, 512, 16, 1, 142},
      {"18B", 40, 6144, 48, 8, 1, 256, 1024, 8, 1, 135},
      {"39B", 48, 8192, 64, 8, 2, 512, 1536, 4, 1, 138, true},
      {"76B", 60, 10240, 80, 8, 4, 1024, 1792, 2, 3, 140, true},
      {"145B", 80, 12288, 96, 8, 8, 1536, 2304, 2, 2, 148, true},
      {"310B", 96, 16384, 128, 8, 16, 1920, 2160, 1, 2, 155, true},
      {"530B", 105, 20480, 128, 8, 35, 2520, 2520, 1, 3, 163, true},
      {"1T", 128, 25600, 160, 8, 64, 3072, 3072, 1, 1, 163, true},
  };
  return rows;
}

std::vector<MegatronRun> korthikantiTable5(bool withSpSelective) {
  // Korthikanti et al. 2022, Tables 3 and 5: name, layers, hidden, heads, tp, pp, gpus, global
  // batch, micro-batch, virtual stages (Table 3 lists none: 1), no TFLOP/s; iteration seconds
  // below. Megatron of 2022 fuses the fp32 gradient accumulation into the weight-gradient GEMM.
  std::vector<MegatronRun> rows = {
      {"22B", 48, 6144, 64, 8, 1, 8, 4, 4, 1, 0, true},
      {"175B", 96, 12288, 96, 8, 8, 64, 64, 1, 1, 0, true},
      {"530B", 105, 20480, 128, 8, 35, 280, 280, 1, 1, 0, true},
      {"1T", 128, 25600, 160, 8, 64, 512, 512, 1, 1, 0, true},
  };
  for (MegatronRun& r : rows) r.fusedGradAccumulation = true;
  const double full[] = {1.42, 18.13, 49.05, 94.42}, spSel[] = {1.10, 13.75, 37.83, 71.49};
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].publishedSeconds = withSpSelective ? spSel[i] : full[i];
    if (withSpSelective) {
      rows[i].recompute = Recompute::Selective;
      rows[i].sequenceParallel = true;
    }
  }
  return rows;
}

int64_t moeLayersIn(int64_t first, int64_t count, int64_t moeEvery) {
  if (moeEvery < 1 || count < 1) return 0;
  // Layers l in [first, first + count) with (l + 1) % k == 0: floor((l+1)/k) counts them up to l.
  return (first + count) / moeEvery - first / moeEvery;
}

int64_t moeLayersOnRank(const MegatronRun& run, int64_t r) {
  if (run.pp < 1 || run.virtualStages < 1) return 0;
  const int64_t perChunk = run.layers / (run.pp * run.virtualStages);
  int64_t n = 0;
  for (int64_t i = 0; i < run.virtualStages; ++i)
    n += moeLayersIn((r + i * run.pp) * perChunk, perChunk, run.moeEvery);
  return n;
}

int64_t maxMoeLayersPerRank(const MegatronRun& run) {
  int64_t n = 0;
  for (int64_t r = 0; r < run.pp; ++r) n = std::max(n, moeLayersOnRank(run, r));
  return n;
}

double megatronFlops(const MegatronRun& run, bool fullRecompute) {
  const double B = static_cast<double>(run.globalBatch), s = static_cast<double>(run.seq),
               L = static_cast<double>(run.layers), h = static_cast<double>(run.hidden),
               V = static_cast<double>(run.vocab);
  double flops = (fullRecompute ? 96 : 72) * B * s * L * h * h *
                 (1 + s / (6 * h) + V / ((fullRecompute ? 16 : 12) * L * h));
  // Forward + backward is 3 forwards (4 with the recomputed one); an MLP forward is 4 h f per token.
  const double passes = fullRecompute ? 4 : 3;
  const double f = run.ffn > 0 ? static_cast<double>(run.ffn) : 4 * h;
  flops += passes * 4 * B * s * L * h * (f - 4 * h);
  if (run.moeEvery > 0 && run.topK > 1) {
    const double moeLayers = static_cast<double>(moeLayersIn(0, run.layers, run.moeEvery));
    flops += passes * 4 * B * s * moeLayers * h * f * static_cast<double>(run.topK - 1);
  }
  return flops;
}

namespace {

// CPU ranks run the compiled engine, which fuses as cost/EngineFusion.h says; GPUs as
// cost/ProgramCost.h says (the rule the published GPU measurements were matched with).
cost::FusionRule fusionFor(const cost::ClusterSpec& c) {
  return c.device.name == "cpu" ? cost::FusionRule::Engine : cost::FusionRule::Consumer;
}

// An Adam step over n local parameters, as Megatron's fp16 optimizer runs it: unscale the fp32
// gradients and check them for inf (one read-write pass), their norm for clipping (one read),
// then apex's fused Adam over fp32 master weights and moments, writing the 16-bit weights back.
StatusOr<double> optimizerSeconds(double n, const ir::Mesh& mesh, const cost::ClusterSpec& c) {
  ir::Module m("adam");
  ir::Function* f = m.addFunction("adam");
  ir::Shape s{ir::Dim::symbol("P")};
  ir::Value* p = f->addArgument({ir::DType::F32, s}, "p");
  ir::Value* g = f->addArgument({ir::DType::F32, s}, "g");
  ir::Value* mo = f->addArgument({ir::DType::F32, s}, "m");
  ir::Value* v = f->addArgument({ir::DType::F32, s}, "v");
  Status st;
  auto op = [&](ir::OpKind k, std::vector<ir::Value*> in, ir::Shape shape = {},
                std::vector<std::pair<std::string, ir::AttrValue>> attrs = {}) -> ir::Value* {
    if (!st.isOk()) return nullptr;
    std::vector<ir::TensorType> decl;
    if (k == ir::OpKind::Full) decl.push_back({ir::DType::F32, shape});
    auto r = f->addOp({k, std::move(in), std::move(attrs), std::move(decl), {}});
    if (!r) { st = r.status(); return nullptr; }
    return (*r)->result(0);
  };
  auto c0 = [&](double x) { return op(ir::OpKind::Full, {}, {}, {{"value", x}}); };
  ir::Value* gu = op(ir::OpKind::Mul, {g, c0(1.0 / 8192)});  // unscale (+ inf check)
  ir::Value* norm = op(ir::OpKind::ReduceSum, {op(ir::OpKind::Mul, {gu, gu})}, {},
                       {{"axes", std::vector<int64_t>{0}}, {"keepdims", false}});
  ir::Value* gc = op(ir::OpKind::Mul, {gu, c0(1.0)});  // times the clip coefficient
  ir::Value* m2 = op(ir::OpKind::Add, {op(ir::OpKind::Mul, {mo, c0(0.9)}), op(ir::OpKind::Mul, {gc, c0(0.1)})});
  ir::Value* v2 = op(ir::OpKind::Add, {op(ir::OpKind::Mul, {v, c0(0.999)}),
                                       op(ir::OpKind::Mul, {op(ir::OpKind::Mul, {gc, gc}), c0(0.001)})});
  ir::Value* upd = op(ir::OpKind::Div, {m2, op(ir::OpKind::Add, {op(ir::OpKind::Sqrt, {v2}), c0(1e-8)})});
  ir::Value* p2 = op(ir::OpKind::Sub, {p, op(ir::OpKind::Mul, {upd, c0(1e-4)})});
  ir::Value* p16 = op(ir::OpKind::Cast, {p2}, {}, {{"dtype", ir::DType::BF16}});
  TRY(st);
  f->setResults({p2, m2, v2, p16, norm});
  SimOptions o;
  o.symbols["P"] = std::max<int64_t>(1, static_cast<int64_t>(n));
  o.fusion = fusionFor(c);
  TRY_ASSIGN(SimResult r, simulate(*f, mesh, c, o));
  return r.stepSeconds;
}

// Bytes of the values the layers' forward pass defines (ops in [begin, end)) and the backward
// reads, plus arguments the backward reads (the layer input under full recomputation): what a
// layer keeps per micro-batch. A view shares its operand's buffer; a fused value has none; the
// layer's output counts as the next layer's input, not twice.
StatusOr<double> storedActivationBytes(const ir::Function& f, int forwardBegin, int forwardEnd,
                                       const std::vector<cost::OpCost>& costs) {
  std::map<const ir::Op*, int> index;
  for (int i = 0; i < f.numOps(); ++i) index[f.ops()[static_cast<size_t>(i)].get()] = i;
  auto usedAfter = [&](const ir::Value* v) {
    for (const ir::Use& u : v->uses())
      if (u.user && index[u.user] >= forwardEnd) return true;
    return false;
  };
  std::map<const ir::Value*, const ir::Value*> root;
  std::set<const ir::Value*> kept;
  double bytes = 0;
  auto keep = [&](const ir::Value* r) -> Status {
    if (!kept.insert(r).second) return Status::ok();
    TRY_ASSIGN(double b, cost::tensorBytes(r->type(), {}, f.loc));
    bytes += b;
    return Status::ok();
  };
  for (int i = 0; i < f.numArguments(); ++i) {
    const ir::Value* a = f.argument(i);
    if (a->name() == "x" && usedAfter(a)) TRY(keep(a));
  }
  for (int i = forwardBegin; i < forwardEnd; ++i) {
    const ir::Op& op = *f.ops()[static_cast<size_t>(i)];
    if (op.numResults() != 1 || costs[static_cast<size_t>(i)].fused) continue;
    const ir::Value* v = op.result(0);
    const ir::Value* r = v;
    if (op.kind() == ir::OpKind::Reshape) {
      auto it = root.find(op.operand(0));
      if (it == root.end()) continue;  // a view of an argument
      r = it->second;
    }
    root[v] = r;
    if (usedAfter(v)) TRY(keep(r));
  }
  return bytes;
}

}  // namespace

StatusOr<LayerSim> StageCache::get(const MegatronStageConfig& s, const cost::ClusterSpec& c) {
  std::string key = std::to_string(s.hidden) + "/" + std::to_string(s.heads) + "/" +
                    std::to_string(s.seq) + "/" + std::to_string(s.vocab) + "/" +
                    std::to_string(s.microBatch) + "/" + std::to_string(s.tp) + "/" +
                    recomputeName(s.recompute) + "/" + std::to_string(s.sequenceParallel) +
                    std::to_string(s.embedding) + std::to_string(s.head) +
                    std::to_string(s.accumulateMainGrads) + ir::dtypeName(s.dtype) + "/" +
                    std::to_string(s.ffn) + "/" + std::to_string(s.experts) + "/" +
                    std::to_string(s.topK) + "/" + std::to_string(s.capacityFactor) + "/" +
                    std::to_string(s.ep);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  TRY_ASSIGN(MegatronProgram prog, buildMegatronStage(s));
  SimOptions o;
  o.recomputeOps = prog.recomputeOps;
  o.asyncOps = prog.asyncOps;
  o.fusion = fusionFor(c);
  TRY_ASSIGN(SimResult r, simulate(*prog.function, prog.module->meshes[0], c, o));
  std::vector<cost::OpCost> costs;
  if (o.fusion == cost::FusionRule::Engine) {
    TRY_ASSIGN(costs, cost::engineProgramCosts(*prog.function, {}));
  } else {
    TRY_ASSIGN(costs, cost::programCosts(*prog.function, {}, true));
  }
  LayerSim out;
  out.seconds = r.stepSeconds;
  for (auto& [axes, st] : r.comm) out.exposedTpSeconds += st.exposedSeconds;
  out.params = prog.parametersPerRank;
  out.expertParams = prog.expertParametersPerRank;
  out.peakBytes = r.memory.peakBytes;
  TRY_ASSIGN(out.storedBytes, storedActivationBytes(*prog.function, prog.forwardBegin, prog.forwardEnd, costs));
  cache_.emplace(key, out);
  return out;
}

StatusOr<MegatronPrediction> predictMegatron(const MegatronRun& run, const cost::ClusterSpec& c,
                                             StageCache* cache) {
  auto t0 = std::chrono::steady_clock::now();
  auto bad = [&](const std::string& m) { return Status::error("megatron run " + run.name + ": " + m); };
  if (run.tp < 1 || run.pp < 1 || run.gpus % (run.tp * run.pp) != 0)
    return bad("gpus " + std::to_string(run.gpus) + " is not a multiple of tp*pp");
  const int64_t d = run.gpus / (run.tp * run.pp);
  if (run.virtualStages < 1 || run.layers % (run.pp * run.virtualStages) != 0)
    return bad("layers are not divisible by pp * virtual stages");
  if (run.microBatch < 1 || run.globalBatch % (d * run.microBatch) != 0)
    return bad("global batch is not divisible by data-parallel degree * micro-batch");
  if (run.gpus > c.numDevices())
    return bad("needs " + std::to_string(run.gpus) + " devices, the cluster has " + std::to_string(c.numDevices()));
  if (run.tp > c.devicesPerNode)
    return bad("tp " + std::to_string(run.tp) + " spans more than a node of " + std::to_string(c.devicesPerNode));
  // Collective groups must sit evenly in the nodes (tp ranks adjacent, then dp): a dp group of
  // tp*d consecutive devices that straddles node boundaries unevenly has no ring schedule here.
  if ((run.tp * d) % c.devicesPerNode != 0 && c.devicesPerNode % (run.tp * d) != 0)
    return bad("tp*dp = " + std::to_string(run.tp * d) + " devices straddle nodes of " +
               std::to_string(c.devicesPerNode) + " unevenly");
  MegatronPrediction out;
  out.microbatches = run.globalBatch / (d * run.microBatch);
  if (run.virtualStages > 1 && out.microbatches % run.pp != 0)
    return bad("the interleaved schedule needs the micro-batch count to be a multiple of pp");
  const int64_t layersPerStage = run.layers / run.pp;
  const bool moe = run.moeEvery > 0;
  if (run.moeEvery < 0 || (moe && (run.experts < 1 || run.topK < 1 || run.topK > run.experts)))
    return bad("a mixture of experts needs experts >= 1 and top-k in 1..experts");
  if (run.ep < 1 || d % run.ep || (run.ep > 1 && (!moe || run.experts % run.ep)))
    return bad("ep " + std::to_string(run.ep) + " must divide the data-parallel degree " +
               std::to_string(d) + " and the experts " + std::to_string(run.experts));
  StageCache local;
  StageCache& sims = cache ? *cache : local;

  // Megatron's rank order: tensor-parallel ranks adjacent, then data, then pipeline; with expert
  // parallelism the data-parallel ranks are (dp/ep) x ep, ep inner.
  ir::Mesh mesh = run.ep > 1 ? ir::Mesh::make("m", {{"pp", run.pp}, {"dpo", d / run.ep}, {"ep", run.ep}, {"tp", run.tp}})
                             : ir::Mesh::make("m", {{"pp", run.pp}, {"dp", d}, {"tp", run.tp}});
  const std::vector<std::string> dpAxes = run.ep > 1 ? std::vector<std::string>{"dpo", "ep"}
                                                     : std::vector<std::string>{"dp"};

  const MegatronStageConfig sc = layerConfigOf(run, false, run.recompute);
  auto stage = [&](bool emb, bool head) {
    MegatronStageConfig s = sc;
    s.embedding = emb;
    s.head = head;
    return sims.get(s, c);
  };
  TRY_ASSIGN(LayerSim layer, stage(false, false));
  // The layers' menu items per stage (MegatronRecompute.h); the ends' programs run `recompute`.
  TRY(checkRecomputeMix(run));
  std::vector<RecomputeMix> mixes;
  for (int64_t r = 0; r < run.pp; ++r) mixes.push_back(mixOnRank(run, r));
  const double ls = static_cast<double>(layersPerStage);
  out.layerSeconds = layer.seconds;
  out.layerExposedTpSeconds = layer.exposedTpSeconds;
  // The MoE layer (its MLP replaced by the experts), simulated once per item it runs.
  LayerSim moeLayer = layer;
  if (moe) {
    TRY_ASSIGN(moeLayer, sims.get(layerConfigOf(run, true, run.recompute), c));
  }
  // Each (kind, item) a stage uses, simulated once.
  LayerSim sim[2][3];
  for (int kind = 0; kind < 2; ++kind)
    for (int i = 0; i < 3; ++i) {
      bool used = false;
      for (const RecomputeMix& x : mixes) used |= (kind == 0 ? x.dense[i] : x.moe[i]) > 0;
      if (!used) continue;
      const Recompute item = static_cast<Recompute>(i);
      if (item == run.recompute) {
        sim[kind][i] = kind == 0 ? layer : moeLayer;
      } else {
        TRY_ASSIGN(sim[kind][i], sims.get(layerConfigOf(run, kind == 1, item), c));
      }
    }
  // Sum over a stage's layers of a LayerSim term.
  auto sum = [&](const RecomputeMix& x, double LayerSim::*f) {
    double t = 0;
    for (int i = 0; i < 3; ++i)
      t += static_cast<double>(x.dense[i]) * sim[0][i].*f + static_cast<double>(x.moe[i]) * sim[1][i].*f;
    return t;
  };
  auto moeOnRank = [&](int64_t r) { return moeLayersOnRank(run, r); };
  auto storedPerLayer = [&](int64_t r) { return sum(mixes[static_cast<size_t>(r)], &LayerSim::storedBytes) / ls; };
  out.activationBytesPerLayer = storedPerLayer(0);

  // States: 16-bit weights, gradients (fp32 main gradients under DDP=local), fp32 master
  // weights and Adam moments (split over dp by ZeRO-1).
  // fp32 training: 4-byte weights and gradients and 8 bytes of moments.
  const double w = ir::dtypeBytes(run.dtype);
  const double gradBytes = run.localDdp ? 4 : w;
  const double optBytes = w >= 4 ? 8 : 12;
  if (run.zero < 0 || run.zero > 3) return bad("ZeRO stage " + std::to_string(run.zero) + " (expected 0..3)");
  // ZeRO (Rajbhandari et al.): stage 1 splits the optimizer state d ways, 2 also the gradients,
  // 3 also the weights.
  const double dd = static_cast<double>(d);
  auto stateBytesPerParam = [&](double dd) {
    return (run.zero >= 3 ? w / dd : w) + (run.zero >= 2 ? gradBytes / dd : gradBytes) +
           (run.zero >= 1 ? optBytes / dd : optBytes);
  };
  // Expert weights are replicated over the dp/ep ranks that hold the same experts.
  const double ddExpert = dd / static_cast<double>(run.ep);
  const double moeTransient = std::max(0.0, (moeLayer.peakBytes - moeLayer.params * w) -
                                                (layer.peakBytes - layer.params * w));

  // The first and last stages (one stage doing both when pp = 1).
  double stageTime = 0, stageParams = 0, stageExpertParams = 0;
  std::vector<std::pair<bool, bool>> ends =
      run.pp == 1 ? std::vector<std::pair<bool, bool>>{{true, true}}
                  : std::vector<std::pair<bool, bool>>{{true, false}, {false, true}};
  const double m = static_cast<double>(out.microbatches), v = static_cast<double>(run.virtualStages),
               p = static_cast<double>(run.pp);
  // Layer-micro-batches in flight on the first stage.
  const double inflight =
      run.virtualStages == 1
          ? static_cast<double>(layersPerStage) * std::min(p, m)
          : std::min(m * v, 2 * (p - 1) + (v - 1) * p + 1) * static_cast<double>(layersPerStage) / v;
  for (auto [emb, head] : ends) {
    TRY_ASSIGN(LayerSim r, stage(emb, head));
    const int64_t rank = emb ? 0 : run.pp - 1;
    const double nMoe = static_cast<double>(moeOnRank(rank));
    // The end program holds one layer on `recompute`; the stage's layers run their mix.
    double t = r.seconds - layer.seconds + sum(mixes[static_cast<size_t>(rank)], &LayerSim::seconds);
    double params = r.params + static_cast<double>(layersPerStage - 1) * layer.params +
                    nMoe * (moeLayer.params - layer.params);
    const double expertParams = nMoe * moeLayer.expertParams;
    stageTime = std::max(stageTime, t);
    stageParams = std::max(stageParams, params);
    stageExpertParams = std::max(stageExpertParams, expertParams);
    // One micro-batch of this end stage's program is the transient peak; the rest of the
    // stage's layers hold their states, and earlier micro-batches their stored activations.
    double stageInflight = emb ? inflight : static_cast<double>(layersPerStage);
    const double perLayer = storedPerLayer(rank);
    const double states = (params - expertParams) * stateBytesPerParam(dd) + expertParams * stateBytesPerParam(ddExpert);
    double mem = r.peakBytes - r.params * w + states + std::max(0.0, stageInflight - 1) * perLayer +
                 (nMoe > 0 ? moeTransient : 0.0);
    // ZeRO-3 gathers a layer's weights before using them and prefetches the next: two layers'
    // full 16-bit weights are resident besides the shards.
    if (run.zero >= 3 && d > 1) mem += 2 * std::max(layer.params, nMoe > 0 ? moeLayer.params : 0.0) * w;
    out.endStageMemory.push_back({mem - std::max(0.0, stageInflight - 1) * perLayer,
                                  std::max(0.0, stageInflight - 1) / ls});
    if (mem > out.peakMemoryBytes) {
      out.peakMemoryBytes = mem;
      out.stateBytes = states;
      out.activationBytes = stageInflight * perLayer;
    }
  }
  // Middle stages have no embedding or head but may hold more MoE layers.
  for (int64_t r = 1; r + 1 < run.pp; ++r)
    stageTime = std::max(stageTime, sum(mixes[static_cast<size_t>(r)], &LayerSim::seconds));
  out.microbatchSeconds = stageTime;
  out.bubbleSeconds = (p - 1) / v * stageTime;

  // Pipeline point-to-point: b*s*h 16-bit values split over the tp ranks (scatter-gather),
  // each rank over its own NIC, then re-assembled by an all-gather over NVLink (with SP the
  // activation is already split by sequence and stays so).
  if (run.pp > 1) {
    TRY_ASSIGN(auto ids, cost::axisGroup(mesh, {"pp"}, c));
    cost::GroupShape pair = cost::groupShape({ids[0], ids[1]}, c);
    const double full = w * static_cast<double>(run.microBatch * run.seq * run.hidden);
    double one = cost::estimateCollective(cost::CollectiveKind::SendRecv, full / static_cast<double>(run.tp), pair, c).seconds;
    if (run.tp > 1 && !sc.sequenceParallel) {
      TRY_ASSIGN(auto tpIds, cost::axisGroup(mesh, {"tp"}, c));
      one += cost::estimateCollective(cost::CollectiveKind::AllGather, full, cost::groupShape(tpIds, c), c).seconds;
    }
    out.p2pSeconds = m * 2 * v * one;
    // Tied embeddings: the first and last stages all-reduce the embedding gradient.
    cost::GroupShape ends2 = cost::groupShape({ids.front(), ids.back()}, c);
    double embBytes = gradBytes * static_cast<double>(run.vocab / run.tp * run.hidden);
    out.dataParallelSeconds +=
        cost::estimateCollective(cost::CollectiveKind::AllReduce, embBytes, ends2, c).seconds;
  }
  // Gradient reduction (and ZeRO's gathers) of `stageParams` parameters over the group `axes`.
  auto dataParallel = [&](const std::vector<std::string>& axes, double stageParams,
                          double layerParams) -> StatusOr<double> {
    TRY_ASSIGN(auto ids, cost::axisGroup(mesh, axes, c));
    if (ids.size() <= 1 || stageParams <= 0) return 0.0;
    double seconds = 0;
    cost::GroupShape g = cost::groupShape(ids, c);
    auto coll = [&](cost::CollectiveKind k, double bytes) {
      return cost::estimateCollective(k, bytes, g, c).seconds;
    };
    if (run.zero >= 3) {
      // Every micro-batch all-gathers each layer's weights for the forward, again for the
      // backward (and for the recomputed forward of fully recomputed layers), and
      // reduce-scatters its gradients; prefetching one layer ahead overlaps this with the
      // micro-batch's compute (the dp stream runs beside the compute stream, as in the
      // simulator), so what exceeds the compute is exposed, plus the gather of each pass's first
      // layer, which nothing precedes.
      const double gathers = 2 + static_cast<double>(mixes[0].dense[2] + mixes[0].moe[2]) / ls;
      const double perMb = gathers * coll(cost::CollectiveKind::AllGather, w * stageParams) +
                           coll(cost::CollectiveKind::ReduceScatter, gradBytes * stageParams);
      const double firstLayer = gathers * coll(cost::CollectiveKind::AllGather, w * layerParams);
      seconds += (std::max(0.0, perMb - stageTime) + firstLayer) * m;
    } else if (run.zero == 2) {
      // The gradients are never whole: each micro-batch's are reduce-scattered into the shard
      // (DeepSpeed's ZeRO-2 under gradient accumulation), then the weights all-gathered once.
      seconds += m * coll(cost::CollectiveKind::ReduceScatter, gradBytes * stageParams) +
                 coll(cost::CollectiveKind::AllGather, w * stageParams);
    } else if (run.zero == 1) {
      seconds += coll(cost::CollectiveKind::ReduceScatter, gradBytes * stageParams) +
                 coll(cost::CollectiveKind::AllGather, w * stageParams);
    } else {
      seconds += coll(cost::CollectiveKind::AllReduce, gradBytes * stageParams);
    }
    return seconds;
  };
  if (d > 1 && run.ep == 1) {
    TRY_ASSIGN(double all, dataParallel(dpAxes, stageParams, std::max(layer.params, moeLayer.params)));
    out.dataParallelSeconds += all;
  } else if (d > 1) {
    // Dense weights over all d ranks, expert weights over the d/ep ranks holding the same experts.
    TRY_ASSIGN(double dense, dataParallel(dpAxes, stageParams - stageExpertParams, layer.params));
    TRY_ASSIGN(double experts, dataParallel({"dpo"}, stageExpertParams, moeLayer.params));
    out.dataParallelSeconds += dense + experts;
  }
  const double optParams = run.zero >= 1 ? (stageParams - stageExpertParams) / dd + stageExpertParams / ddExpert
                                         : stageParams;
  TRY_ASSIGN(out.optimizerSeconds, optimizerSeconds(optParams, mesh, c));
  out.stepSeconds = m * stageTime + out.bubbleSeconds + out.p2pSeconds + out.dataParallelSeconds +
                    out.optimizerSeconds;
  out.modelFlops = megatronFlops(run, false);
  out.tflopsPerGpu = megatronFlops(run, run.recompute == Recompute::Full) / out.stepSeconds /
                     static_cast<double>(run.gpus) / 1e12;
  out.simulateSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace tessera::partition::sim
