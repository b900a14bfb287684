// `tessera plan --auto` (PlanAuto.h).
#include "launcher/PlanAuto.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "frontend/Zoo.h"
#include "launcher/Commands.h"
#include "launcher/MpirunSpawn.h"
#include "partition/cost/ClusterSpec.h"
#include "partition/planner/Planner.h"

namespace tessera::launcher {

namespace {

namespace cost = partition::cost;
namespace planner = partition::planner;
namespace sim = partition::sim;

int usage(const std::string& m) {
  std::cerr << "error: " << m << "\n";
  return kExitUsage;
}

// "80GB", "512MiB", "1.5e9": bytes, or a negative value when it does not parse.
double parseBytes(const std::string& s) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (...) {
    return -1;
  }
  std::string unit = s.substr(used);
  static const std::pair<const char*, double> units[] = {
      {"", 1}, {"B", 1}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
      {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};
  for (auto [u, f] : units)
    if (unit == u) return v > 0 ? v * f : -1;
  return -1;
}

std::string gb(double bytes) {
  std::ostringstream o;
  o.precision(3);
  o << bytes / 1e9 << " GB";
  return o.str();
}

void printPlanRow(const char* tag, const planner::Plan& p, int64_t devices, double bestStep) {
  const auto& r = p.prediction;
  std::printf("%-6s %-52s %9.4f %8.3f %8.2f %7.3f %7.3f %8.3g GB  %5.2fx\n", tag,
              p.describe().c_str(), r.stepSeconds,
              r.modelFlops / r.stepSeconds / static_cast<double>(devices) / 1e12, r.bubbleSeconds,
              r.p2pSeconds, r.dataParallelSeconds, r.peakMemoryBytes / 1e9,
              r.stepSeconds / bestStep);
}

// What `tessera train -np` runs (PlanAuto.h): without a pipeline one micro-batch and no
// recomputation; a pipeline with a uniform remat choice, ZeRO 0/1 and no expert parallelism;
// never SP or per-layer recompute mixes.
bool isLaunchable(const planner::Plan& p) {
  if (p.sequenceParallel || p.fullRecomputeLayers != 0 || !p.mix.empty() || p.zero > 3 || !p.expertsLaunchable())
    return false;
  if (p.pp == 1)
    return p.virtualStages == 1 && p.microbatches == 1 && p.recompute == sim::Recompute::None;
  return p.zero <= 1 && p.ep == 1;
}

// The launchable plans, priced by the same step model as the planner's (sim::predictMegatron):
// every tp (a power of two dividing the heads, within a node) and pp (dividing the layers) with
// dp = N / (tp pp); without a pipeline dp divides the global batch, each ZeRO stage the planner
// prices, experts on 1 or all dp ranks, and the whole per-replica batch is the one micro-batch;
// with one, every micro-batch count M (batch % M = 0, (batch / M) % dp = 0, M <= 4 p or 64),
// 1F1B or interleaved (v dividing the layers per stage, M % p = 0), ZeRO 0/1 and each remat choice.
// Errors as the planner's: nothing divides the batch; nothing fits the memory limit.
StatusOr<planner::PlanResult> planLaunchable(const planner::TransformerShape& shape,
                                             const cost::ClusterSpec& c,
                                             const planner::PlannerOptions& po,
                                             const PlanAutoOptions& want) {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t N = c.numDevices();
  const double limit = po.memoryLimit > 0 ? po.memoryLimit : c.device.memoryBytes;
  auto fail = [&](const std::string& m) { return Status::error("plan " + shape.name + ": " + m); };
  if (po.globalBatch < 1) return fail("the global batch must be positive");
  sim::StageCache cache;
  planner::PlanResult res;
  res.minMemoryBytes = INFINITY;
  std::vector<planner::Plan> fits;
  bool anyDivides = false;
  auto price = [&](planner::Plan p) -> Status {
    TRY_ASSIGN(p.prediction, sim::predictMegatron(planner::runOf(shape, p, N, po), c, &cache));
    ++res.candidates;
    res.minMemoryBytes = std::min(res.minMemoryBytes, p.prediction.peakMemoryBytes);
    if (p.prediction.peakMemoryBytes > limit) {
      ++res.rejectedMemory;
      return Status::ok();
    }
    fits.push_back(p);
    return Status::ok();
  };
  const bool moe = shape.moeEvery > 0;
  for (int64_t tp = 1; tp <= std::min(N, c.devicesPerNode); tp *= 2) {
    if (shape.heads % tp || N % tp) continue;
    for (int64_t pp = 1; pp <= shape.layers && pp <= N / tp; ++pp) {
      if (shape.layers % pp || (N / tp) % pp || (pp > 1 && !po.allowPipeline)) continue;
      if (want.pipelineConstrained() && (pp == 1 || (want.stages > 0 && pp != want.stages))) continue;
      const int64_t dp = N / (tp * pp);
      if (pp == 1) {
        if (po.globalBatch % dp) continue;
        anyDivides = true;
        const int maxZero = dp == 1 ? 0 : po.allowZero23 ? 3 : po.allowZero1 ? 1 : 0;
        for (int zero = 0; zero <= maxZero; ++zero)
          for (int64_t ep : {int64_t{1}, dp}) {
            if (ep > 1 && (!moe || shape.experts % ep)) continue;
            planner::Plan p;
            p.dp = dp, p.tp = tp, p.microBatch = po.globalBatch / dp, p.microbatches = 1;
            p.recompute = sim::Recompute::None, p.zero = zero, p.ep = ep;
            TRY(price(p));
            if (dp == 1) break;  // ep = dp = 1 once
          }
        continue;
      }
      const int64_t perStage = shape.layers / pp;
      for (int64_t M = 1; M <= po.globalBatch && M <= std::max<int64_t>(64, 4 * pp); ++M) {
        if (po.globalBatch % M || (po.globalBatch / M) % dp) continue;
        if (want.microBatches > 0 && M != want.microBatches) continue;
        anyDivides = true;
        for (int64_t v = 1; v <= perStage; ++v) {
          if (perStage % v || (v > 1 && (!po.allowInterleave || M % pp))) continue;
          if ((want.schedule == "1f1b" && v > 1) || (want.schedule == "interleaved" && v == 1) ||
              (want.virtualStages > 0 && v != want.virtualStages))
            continue;
          for (sim::Recompute rc : {sim::Recompute::None, sim::Recompute::Selective, sim::Recompute::Full})
            for (int zero = 0; zero <= (dp > 1 && po.allowZero1 ? 1 : 0); ++zero) {
              planner::Plan p;
              p.dp = dp, p.tp = tp, p.pp = pp, p.virtualStages = v;
              p.microBatch = po.globalBatch / (M * dp), p.microbatches = M;
              p.recompute = rc, p.zero = zero;
              TRY(price(p));
            }
        }
      }
    }
  }
  if (!anyDivides && want.pipelineConstrained())
    return fail("no launchable pipeline plan matches the pipeline flags given (stages dividing the "
                "layers and the devices, micro-batches dividing the global batch " +
                std::to_string(po.globalBatch) + " with (batch / M) % dp = 0)");
  if (!anyDivides)
    return fail("no launchable plan divides the global batch " + std::to_string(po.globalBatch) +
                " over " + std::to_string(N) + " devices (the data-parallel degree N/(tp pp) "
                "must divide it, with tp a power of two dividing the heads, " +
                std::to_string(shape.heads) + ", and pp the layers)");
  if (fits.empty())
    return fail("no launchable plan fits " + gb(limit) + " per device: the smallest needs at "
                "least " + gb(res.minMemoryBytes) + " per device (" +
                std::to_string(res.candidates) + " plans tried; the launcher runs recomputation "
                "and micro-batches only with pipeline stages)");
  // Fastest first; on a tie the simpler plan (enumeration order: fewer tp, no ZeRO).
  std::stable_sort(fits.begin(), fits.end(), [](const planner::Plan& a, const planner::Plan& b) {
    return a.prediction.stepSeconds < b.prediction.stepSeconds;
  });
  res.best = fits.front();
  for (size_t i = 1; i < fits.size() && static_cast<int>(i) <= po.runnersUp; ++i)
    res.runnersUp.push_back(fits[i]);
  res.blocksSimulated = cache.size();
  res.searchSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

// `tessera` when the shell finds this executable under that name, else its path.
std::string defaultProgram() {
  StatusOr<std::string> self = thisExecutable();
  if (!self.isOk()) return "tessera";
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      std::error_code ec;
      const std::filesystem::path cand = std::filesystem::path(dir.empty() ? "." : dir) / "tessera";
      if (std::filesystem::exists(cand, ec)) {
        if (std::filesystem::equivalent(cand, *self, ec)) return "tessera";
        break;  // the shell would run another tessera
      }
    }
  }
  return *self;
}

}  // namespace

std::string shellWord(const std::string& w) {
  if (!w.empty() && w.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789_./=,:+-@%") == std::string::npos)
    return w;
  std::string q = "'";
  for (char ch : w) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

int runPlanAuto(const PlanAutoOptions& o, PlanAutoChoice* choice) {
  // The model's shape from the zoo's defaults and the given size flags.
  const frontend::ZooModelInfo* info = nullptr;
  static const std::vector<frontend::ZooModelInfo> models = frontend::zooModels();
  for (const auto& z : models)
    if (z.name == o.model) info = &z;
  if (!info) return usage("plan --auto: '" + o.model + "' is not a zoo model (the planner prices "
                          "the zoo's transformers)");
  std::map<std::string, std::string> opts = info->defaults;
  for (const auto& [k, v] : o.modelOptions) opts[k] = v;
  planner::TransformerShape shape;
  shape.name = o.model;
  auto get = [&](const char* k, int64_t& out) -> bool {
    auto it = opts.find(k);
    if (it == opts.end()) return false;
    try {
      out = std::stoll(it->second);
    } catch (...) {
      return false;
    }
    return out > 0;
  };
  if (!get("layers", shape.layers) || !get("hidden", shape.hidden) || !get("heads", shape.heads) ||
      !get("seq", shape.seq) || !get("vocab", shape.vocab))
    return usage("plan --auto: '" + o.model +
                 "' is not a GPT-style model with layers, hidden, heads, seq and vocab (the "
                 "planner prices dense transformers)");
  // The MLP width ("4*hidden" is the zoo's default spelling) and, for moe-gpt, the experts.
  if (auto it = opts.find("ffn"); it != opts.end() && it->second != "4*hidden" && !get("ffn", shape.ffn))
    return usage("plan --auto: --ffn '" + it->second + "' is not a positive integer");
  if (opts.count("moe_every")) {
    if (!get("moe_every", shape.moeEvery) || !get("experts", shape.experts) || !get("top_k", shape.topK))
      return usage("plan --auto: '" + o.model + "': moe_every, experts and top_k must be positive integers");
    try {
      shape.capacityFactor = std::stod(opts.count("capacity_factor") ? opts["capacity_factor"] : "1");
    } catch (...) {
      shape.capacityFactor = 0;
    }
    if (!(shape.capacityFactor > 0))
      return usage("plan --auto: --capacity_factor '" + opts["capacity_factor"] + "' is not a positive number");
  }

  // The cluster: a file, a shorthand, or this machine.
  std::string clusterText = o.cluster;
  if (clusterText.empty()) {
    const int64_t n = o.ranks > 0 ? o.ranks
                                  : std::max<int64_t>(1, std::thread::hardware_concurrency());
    clusterText = "1x" + std::to_string(n) + ":cpu";
  }
  StatusOr<cost::ClusterSpec> cluster = cost::loadCluster(clusterText);
  if (!cluster) return usage(usageText(cluster.status().message()));
  const cost::ClusterSpec& c = *cluster;
  const int64_t N = c.numDevices();
  if (o.ranks > 0 && !o.cluster.empty() && o.ranks != N)
    return usage("-np " + std::to_string(o.ranks) + " but --cluster " + o.cluster + " has " +
                 std::to_string(N) + " devices");

  planner::PlannerOptions po;
  po.globalBatch = o.globalBatch > 0 ? o.globalBatch : N;
  if (!o.memoryLimit.empty()) {
    po.memoryLimit = parseBytes(o.memoryLimit);
    if (po.memoryLimit <= 0)
      return usage("--memory-limit '" + o.memoryLimit +
                   "': expected bytes with a unit, e.g. 40GB or 512MiB");
  }
  po.runnersUp = o.runnersUp;
  // CPU ranks train in fp32 with 32-bit gradients; GPUs in 16 bits with fp32 main gradients.
  if (c.device.name == "cpu") po.dtype = ir::DType::F32;
  if (o.megatronMenu) po = planner::megatronMenu(po);
  const bool launchable = o.launchable || c.device.name == "cpu";
  if (launchable && o.megatronMenu)
    return usage("--megatron-menu: Megatron's menu recomputes every layer, which the launcher "
                 "does not run; it applies to GPU clusters without -o");
  if (o.pipelineConstrained() && !launchable)
    return usage("plan --auto: pipeline flags constrain the plans the launcher runs (a CPU "
                 "cluster, or -o); a GPU cluster's search takes no pipeline flags");
  if (!o.schedule.empty() && o.schedule != "1f1b" && o.schedule != "interleaved")
    return usage("plan --auto: --schedule " + o.schedule + ": the planner prices 1f1b and "
                 "interleaved pipelines");
  auto r = launchable ? planLaunchable(shape, c, po, o) : planner::planTransformer(shape, c, po);
  if (!r) {
    std::cerr << r.status().message() << "\n";
    return kExitIrError;
  }
  const planner::Plan& b = r->best;
  std::printf("model    %s: %lld layers, hidden %lld, %lld heads, seq %lld, vocab %lld",
              o.model.c_str(), static_cast<long long>(shape.layers),
              static_cast<long long>(shape.hidden), static_cast<long long>(shape.heads),
              static_cast<long long>(shape.seq), static_cast<long long>(shape.vocab));
  if (shape.moeEvery > 0)
    std::printf(", MoE every %lld layers: %lld experts, top-%lld, capacity factor %g",
                static_cast<long long>(shape.moeEvery), static_cast<long long>(shape.experts),
                static_cast<long long>(shape.topK), shape.capacityFactor);
  std::printf("\n");
  std::printf("cluster  %s: %lld x %lld %s, memory limit %.3g GB, global batch %lld\n",
              c.name.c_str(), static_cast<long long>(c.nodes),
              static_cast<long long>(c.devicesPerNode), c.device.name.c_str(),
              (po.memoryLimit > 0 ? po.memoryLimit : c.device.memoryBytes) / 1e9,
              static_cast<long long>(po.globalBatch));
  std::printf("plan     %s%s\n", b.describe().c_str(),
              launchable ? "  (searched: plans the launcher runs)" : "");
  const ir::DType peakType = c.device.name == "cpu" ? ir::DType::F32 : ir::DType::BF16;
  const double flopsPerDevice = b.prediction.modelFlops / b.prediction.stepSeconds / N;
  std::printf("predicted step %.4g s, %.3g TFLOP/s per device (model FLOPs, MFU %.1f%%), memory "
              "%.3g GB per device (states %.3g, activations %.3g)\n",
              b.prediction.stepSeconds, flopsPerDevice / 1e12,
              100 * flopsPerDevice / c.device.peak(peakType),
              b.prediction.peakMemoryBytes / 1e9, b.prediction.stateBytes / 1e9,
              b.prediction.activationBytes / 1e9);
  std::printf("search   %lld plans priced (%lld over the memory limit), %zu distinct blocks "
              "simulated, %.3f s\n",
              static_cast<long long>(r->candidates), static_cast<long long>(r->rejectedMemory),
              r->blocksSimulated, r->searchSeconds);
  std::printf("\n%-6s %-52s %9s %8s %8s %7s %7s %11s  %6s\n", "", "plan", "step s", "TFLOP/s",
              "bubble", "p2p", "dp+opt", "memory", "vs best");
  printPlanRow("best", b, N, b.prediction.stepSeconds);
  for (const planner::Plan& p : r->runnersUp) printPlanRow("", p, N, b.prediction.stepSeconds);

  PlanAutoChoice out;
  out.mesh = b.meshFlag();
  std::stringstream presets(b.parallelFlag());
  for (std::string p; std::getline(presets, p, ',');) out.parallel.push_back(p);
  out.ranks = N;
  out.globalBatch = po.globalBatch;
  out.launchable = isLaunchable(b);
  if (b.pp > 1) {
    out.microBatches = b.microbatches;
    out.schedule = b.virtualStages > 1 ? "interleaved" : "1f1b";
    out.virtualStages = b.virtualStages > 1 ? b.virtualStages : 0;
    out.remat = sim::recomputeName(b.recompute);
  }
  if (!out.launchable) {
    std::printf("\nnote: `tessera train -np` does not run this plan yet (it runs data, ZeRO, "
                "tensor and expert (ep = dp) parallelism with one micro-batch and no "
                "recomputation, or pipeline stages with micro-batches, ZeRO-1 and a uniform "
                "remat; no sequence parallelism, no per-layer recompute mix); -o searches only "
                "the plans it runs\n");
  } else if (o.printCommand) {
    std::string line = (o.program.empty() ? defaultProgram() : o.program) + " train " + o.model +
                       " -np " + std::to_string(N) + " --mesh " + out.mesh;
    if (!out.parallel.empty()) line += " --parallel " + b.parallelFlag();
    if (b.pp > 1) {
      line += " --micro-batches " + std::to_string(out.microBatches) + " --schedule " + out.schedule;
      if (out.virtualStages > 1) line += " --virtual-stages " + std::to_string(out.virtualStages);
      if (out.remat != "none") line += " --remat " + out.remat;
    }
    line += " --batch " + std::to_string(po.globalBatch);
    for (const std::string& w : o.passthrough) line += " " + shellWord(w);
    std::printf("\nrun it:  %s\n", line.c_str());
  }
  std::fflush(stdout);
  if (choice) *choice = out;
  return kExitOk;
}

}  // namespace tessera::launcher
