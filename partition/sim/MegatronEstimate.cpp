// Assembles a Megatron step from simulated per-rank programs (MegatronEstimate.h).
#include "partition/sim/MegatronEstimate.h"

#include <chrono>

#include "partition/cost/CollectiveCost.h"
#include "partition/sim/MegatronProgram.h"
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

namespace {

// An Adam step over n local parameters: fp32 master weights and moments, fp32 gradients, a
// 16-bit copy of the weights written back — one fused pass, as apex's multi-tensor Adam.
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
  ir::Value* m2 = op(ir::OpKind::Add, {op(ir::OpKind::Mul, {mo, c0(0.9)}), op(ir::OpKind::Mul, {g, c0(0.1)})});
  ir::Value* v2 = op(ir::OpKind::Add, {op(ir::OpKind::Mul, {v, c0(0.999)}),
                                       op(ir::OpKind::Mul, {op(ir::OpKind::Mul, {g, g}), c0(0.001)})});
  ir::Value* upd = op(ir::OpKind::Div, {m2, op(ir::OpKind::Add, {op(ir::OpKind::Sqrt, {v2}), c0(1e-8)})});
  ir::Value* p2 = op(ir::OpKind::Sub, {p, op(ir::OpKind::Mul, {upd, c0(1e-4)})});
  ir::Value* p16 = op(ir::OpKind::Cast, {p2}, {}, {{"dtype", ir::DType::BF16}});
  TRY(st);
  f->setResults({p2, m2, v2, p16});
  SimOptions o;
  o.symbols["P"] = static_cast<int64_t>(n);
  TRY_ASSIGN(SimResult r, simulate(*f, mesh, c, o));
  return r.stepSeconds;
}

}  // namespace

StatusOr<MegatronPrediction> predictMegatron(const MegatronRun& run, const cost::ClusterSpec& c) {
  auto t0 = std::chrono::steady_clock::now();
  auto bad = [&](const std::string& m) { return Status::error("megatron run " + run.name + ": " + m); };
  if (run.tp < 1 || run.pp < 1 || run.gpus % (run.tp * run.pp) != 0)
    return bad("gpus " + std::to_string(run.gpus) + " is not a multiple of tp*pp");
  const int64_t d = run.gpus / (run.tp * run.pp);
  if (run.virtualStages < 1 || run.layers % (run.pp * run.virtualStages) != 0)
    return bad("layers are not divisible by pp * virtual stages");
  if (run.globalBatch % (d * run.microBatch) != 0)
    return bad("global batch is not divisible by data-parallel degree * micro-batch");
  if (run.gpus > c.numDevices())
    return bad("needs " + std::to_string(run.gpus) + " devices, the cluster has " + std::to_string(c.numDevices()));
  MegatronPrediction out;
  out.microbatches = run.globalBatch / (d * run.microBatch);
  const int64_t layersPerStage = run.layers / run.pp;

  // Megatron's rank order: tensor-parallel ranks adjacent, then data, then pipeline.
  ir::Mesh mesh = ir::Mesh::make("m", {{"pp", run.pp}, {"dp", d}, {"tp", run.tp}});

  MegatronStageConfig sc;
  sc.layers = 1;
  sc.hidden = run.hidden;
  sc.heads = run.heads;
  sc.seq = run.seq;
  sc.microBatch = run.microBatch;
  sc.tp = run.tp;
  sc.vocab = run.vocab;
  sc.accumulateMainGrads = run.localDdp;
  auto simulateStage = [&](bool emb, bool head) -> StatusOr<std::pair<SimResult, double>> {
    MegatronStageConfig s = sc;
    s.embedding = emb;
    s.head = head;
    TRY_ASSIGN(MegatronProgram prog, buildMegatronStage(s));
    SimOptions o;
    o.recomputeOps = prog.recomputeOps;
    TRY_ASSIGN(SimResult r, simulate(*prog.function, mesh, c, o));
    return std::make_pair(r, prog.parametersPerRank);
  };
  TRY_ASSIGN(auto layer, simulateStage(false, false));
  out.layerSeconds = layer.first.stepSeconds;
  for (auto& [axes, s] : layer.first.comm) out.layerExposedTpSeconds += s.exposedSeconds;
  const double layerParams = layer.second;

  // The first and last stages (one stage doing both when pp = 1).
  double stageTime = 0, stageParams = 0, peak = 0;
  std::vector<std::pair<bool, bool>> ends =
      run.pp == 1 ? std::vector<std::pair<bool, bool>>{{true, true}}
                  : std::vector<std::pair<bool, bool>>{{true, false}, {false, true}};
  for (auto [emb, head] : ends) {
    TRY_ASSIGN(auto r, simulateStage(emb, head));
    double t = r.first.stepSeconds + static_cast<double>(layersPerStage - 1) * out.layerSeconds;
    double params = r.second + static_cast<double>(layersPerStage - 1) * layerParams;
    if (t > stageTime) stageTime = t;
    if (params > stageParams) stageParams = params;
    // The whole stage's weights, gradients and optimizer state stay resident; one layer's
    // program holds the transient activations.
    double resident = static_cast<double>(layersPerStage - 1) * layerParams * (2 + 2 + 12);
    peak = std::max(peak, r.first.memory.peakBytes + resident);
  }
  out.microbatchSeconds = stageTime;
  out.peakMemoryBytes = peak;
  const double m = static_cast<double>(out.microbatches), v = static_cast<double>(run.virtualStages);
  out.bubbleSeconds = static_cast<double>(run.pp - 1) / v * stageTime;

  // Pipeline point-to-point: b*s*h 16-bit values, split over the tp ranks (scatter-gather).
  if (run.pp > 1) {
    TRY_ASSIGN(auto ids, cost::axisGroup(mesh, {"pp"}, c));
    cost::GroupShape pair = cost::groupShape({ids[0], ids[1]}, c);
    double bytes = 2.0 * static_cast<double>(run.microBatch * run.seq * run.hidden / run.tp);
    double one = cost::estimateCollective(cost::CollectiveKind::SendRecv, bytes, pair, c).seconds;
    out.p2pSeconds = m * 2 * v * one;
    // Tied embeddings: the first and last stages all-reduce the embedding gradient.
    cost::GroupShape ends2 = cost::groupShape({ids.front(), ids.back()}, c);
    double embBytes = 2.0 * static_cast<double>(run.vocab / run.tp * run.hidden);
    out.dataParallelSeconds +=
        cost::estimateCollective(cost::CollectiveKind::AllReduce, embBytes, ends2, c).seconds;
  }
  if (d > 1) {
    TRY_ASSIGN(auto ids, cost::axisGroup(mesh, {"dp"}, c));
    cost::GroupShape g = cost::groupShape(ids, c);
    out.dataParallelSeconds +=
        cost::estimateCollective(cost::CollectiveKind::AllReduce, 2.0 * stageParams, g, c).seconds;
  }
  TRY_ASSIGN(out.optimizerSeconds, optimizerSeconds(stageParams, mesh, c));
  out.stepSeconds = m * stageTime + out.bubbleSeconds + out.p2pSeconds + out.dataParallelSeconds +
                    out.optimizerSeconds;
  const double B = static_cast<double>(run.globalBatch), s = static_cast<double>(run.seq),
               L = static_cast<double>(run.layers), h = static_cast<double>(run.hidden),
               V = static_cast<double>(run.vocab);
  double flops = 96 * B * s * L * h * h * (1 + s / (6 * h) + V / (16 * L * h));
  out.tflopsPerGpu = flops / out.stepSeconds / static_cast<double>(run.gpus) / 1e12;
  out.simulateSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace tessera::partition::sim
