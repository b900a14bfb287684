// `tessera plan --auto` (PlanAuto.h).
#include "launcher/PlanAuto.h"

#include <cmath>
#include <cstdio>
#include <iostream>

#include "frontend/Zoo.h"
#include "launcher/Commands.h"
#include "launcher/FileUtil.h"
#include "partition/cost/ClusterSpec.h"
#include "partition/planner/Planner.h"

namespace tessera::launcher {

namespace {

namespace cost = partition::cost;
namespace planner = partition::planner;

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

void printPlanRow(const char* tag, const planner::Plan& p, int64_t gpus, double bestStep) {
  const auto& r = p.prediction;
  std::printf("%-6s %-52s %9.3f %8.1f %8.2f %7.3f %7.3f %8.2f GB  %5.2fx\n", tag, p.describe().c_str(),
              r.stepSeconds, r.modelFlops / r.stepSeconds / static_cast<double>(gpus) / 1e12,
              r.bubbleSeconds, r.p2pSeconds, r.dataParallelSeconds, r.peakMemoryBytes / 1e9,
              r.stepSeconds / bestStep);
}

}  // namespace

int runPlanAuto(const PlanAutoOptions& o) {
  // The model's shape from the zoo's defaults and the given size flags.
  const frontend::ZooModelInfo* info = nullptr;
  static const std::vector<frontend::ZooModelInfo> models = frontend::zooModels();
  for (const auto& z : models)
    if (z.name == o.model) info = &z;
  if (!info) return usage("plan --auto: unknown zoo model '" + o.model + "'");
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
                 "' is not a GPT-style model with layers, hidden, heads, seq and vocab (the planner "
                 "prices dense transformers)");
  if (opts.count("moe-every") && opts["moe-every"] != "0")
    return usage("plan --auto: mixture-of-experts layers are not priced by the planner yet");

  StatusOr<cost::ClusterSpec> cluster = Status::error("");
  if (fileExists(o.cluster)) {
    auto text = readFile(o.cluster);
    if (!text) return usage(text.status().message());
    cluster = cost::parseClusterFile(*text, o.cluster);
  } else {
    cluster = cost::parseClusterShorthand(o.cluster);
  }
  if (!cluster) return usage(usageText(cluster.status().message()));
  const cost::ClusterSpec& c = *cluster;
  const int64_t N = c.numDevices();

  planner::PlannerOptions po;
  po.globalBatch = o.globalBatch > 0 ? o.globalBatch : N;
  if (!o.memoryLimit.empty()) {
    po.memoryLimit = parseBytes(o.memoryLimit);
    if (po.memoryLimit <= 0)
      return usage("--memory-limit '" + o.memoryLimit + "': expected bytes with a unit, e.g. 40GB or 512MiB");
  }
  po.runnersUp = o.runnersUp;
  po.allowPipeline = !o.launchable;
  // CPU ranks train in fp32 with 32-bit gradients; GPUs in 16 bits with fp32 main gradients.
  if (c.device.name == "cpu") po.dtype = ir::DType::F32;
  if (o.megatronMenu) po = planner::megatronMenu(po);
  auto r = planner::planTransformer(shape, c, po);
  if (!r) {
    std::cerr << r.status().message() << "\n";
    return kExitIrError;
  }
  const planner::Plan& b = r->best;
  std::printf("model    %s: %lld layers, hidden %lld, %lld heads, seq %lld, vocab %lld\n", o.model.c_str(),
              static_cast<long long>(shape.layers), static_cast<long long>(shape.hidden),
              static_cast<long long>(shape.heads), static_cast<long long>(shape.seq),
              static_cast<long long>(shape.vocab));
  std::printf("cluster  %s: %lld x %lld %s, memory limit %.3g GB, global batch %lld\n", c.name.c_str(),
              static_cast<long long>(c.nodes), static_cast<long long>(c.devicesPerNode), c.device.name.c_str(),
              (po.memoryLimit > 0 ? po.memoryLimit : c.device.memoryBytes) / 1e9,
              static_cast<long long>(po.globalBatch));
  std::printf("plan     %s\n", b.describe().c_str());
  std::printf("predicted step %.4f s, %.1f TFLOP/s per device (model FLOPs, MFU %.1f%%), memory %.3g GB "
              "per device (states %.3g, activations %.3g)\n",
              b.prediction.stepSeconds, b.prediction.modelFlops / b.prediction.stepSeconds / N / 1e12,
              100 * b.prediction.modelFlops / b.prediction.stepSeconds / N / c.device.peak(ir::DType::BF16),
              b.prediction.peakMemoryBytes / 1e9, b.prediction.stateBytes / 1e9,
              b.prediction.activationBytes / 1e9);
  std::printf("search   %lld plans priced (%lld over the memory limit), %zu distinct blocks simulated, %.3f s\n",
              static_cast<long long>(r->candidates), static_cast<long long>(r->rejectedMemory),
              r->blocksSimulated, r->searchSeconds);
  std::printf("\n%-6s %-52s %9s %8s %8s %7s %7s %11s  %6s\n", "", "plan", "step s", "TFLOP/s", "bubble",
              "p2p", "dp+opt", "memory", "vs best");
  printPlanRow("best", b, N, b.prediction.stepSeconds);
  for (const planner::Plan& p : r->runnersUp) printPlanRow("", p, N, b.prediction.stepSeconds);
  std::string remat = b.fullRecomputeLayers > 0 ? "full" : partition::sim::recomputeName(b.recompute);
  std::printf("\nrun it:  tessera train %s -np %lld --mesh %s%s%s --batch %lld --remat %s", o.model.c_str(),
              static_cast<long long>(N), b.meshFlag().c_str(), b.parallelFlag().empty() ? "" : " --parallel ",
              b.parallelFlag().c_str(), static_cast<long long>(po.globalBatch), remat.c_str());
  if (b.microbatches > 1) std::printf(" --accum %lld", static_cast<long long>(b.microbatches));
  for (const auto& [k, v] : o.modelOptions) std::printf(" --%s=%s", k.c_str(), v.c_str());
  std::printf("\n");
  if (b.pp > 1)
    std::printf("note: pipeline stages (pp=%lld) are not run by `tessera train -np` yet; --launchable "
                "restricts the search to plans it runs\n", static_cast<long long>(b.pp));
  return kExitOk;
}

}  // namespace tessera::launcher
