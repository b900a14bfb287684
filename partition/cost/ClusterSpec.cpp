// Cluster topology queries, the default networks of the shipped device kinds, and the
// `NODESxPERNODE:device` shorthand.
#include "partition/cost/ClusterSpec.h"

#include <cassert>
#include <charconv>
#include <set>

namespace tessera::partition::cost {

int ClusterSpec::levelOf(const std::vector<int64_t>& deviceIds) const {
  if (deviceIds.size() <= 1 || levels.empty()) return 0;
  for (int64_t id : deviceIds) assert(id >= 0 && id < numDevices());
  for (size_t l = 0; l < levels.size(); ++l) {
    const int64_t span = levels[l].span;
    const int64_t block = deviceIds[0] / span;
    bool same = true;
    for (int64_t id : deviceIds) same = same && id / span == block;
    if (same) return static_cast<int>(l);
  }
  return static_cast<int>(levels.size()) - 1;
}

Status ClusterSpec::check(const Location& loc) const {
  auto fail = [&](const std::string& m) { return loc.known() ? Status::error(loc, m) : Status::error(m); };
  if (nodes < 1 || devicesPerNode < 1) return fail("nodes and devices per node must be positive");
  if (numDevices() > 100'000'000) return fail("more than 10^8 devices");
  if (levels.empty() && numDevices() > 1) return fail("a cluster of several devices needs a network level");
  int64_t prev = 1;
  for (size_t i = 0; i < levels.size(); ++i) {
    const NetworkLevel& l = levels[i];
    const std::string what = "network level '" + l.name + "'";
    if (l.span < 1 || l.span % prev != 0 || l.span <= (i == 0 ? 0 : prev))
      return fail(what + ": span " + std::to_string(l.span) +
                  " must be larger than, and a multiple of, the previous level's span " +
                  std::to_string(prev));
    if (numDevices() % l.span != 0)
      return fail(what + ": span " + std::to_string(l.span) + " does not divide the " +
                  std::to_string(numDevices()) + " devices");
    if (!(l.bandwidth > 0)) return fail(what + ": bandwidth must be positive");
    if (!(l.latency >= 0)) return fail(what + ": latency must not be negative");
    if (!(l.efficiency > 0 && l.efficiency <= 1)) return fail(what + ": efficiency must be in (0, 1]");
    prev = l.span;
  }
  if (!levels.empty() && levels.back().span != numDevices())
    return fail("the last network level must span all " + std::to_string(numDevices()) + " devices");
  if (!(device.memoryBandwidth > 0) || !(device.vectorPeak > 0) || !(device.memoryBytes > 0))
    return fail("device '" + device.name + "': memory, bandwidth and vector peak must be positive");
  for (double p : device.matrixPeak)
    if (!(p > 0)) return fail("device '" + device.name + "': every peak FLOP/s must be positive");
  if (!(device.gemm.max > 0 && device.gemm.max <= 1) || !(device.gemm.halfDim >= 0) ||
      !(device.memoryEfficiency > 0 && device.memoryEfficiency <= 1) || !(device.launchOverhead >= 0) ||
      !(device.gemm.transA > 0 && device.gemm.transA <= 2) ||
      !(device.gemm.transB > 0 && device.gemm.transB <= 2) || !(device.gemm.itemSeconds >= 0) ||
      !(device.gemm.batched > 0 && device.gemm.batched <= 2))
    return fail("device '" + device.name + "': efficiencies must be in (0, 1], overheads >= 0");
  return Status::ok();
}

std::vector<NetworkLevel> defaultNetwork(const DeviceSpec& d, int64_t nodes, int64_t perNode) {
  NetworkLevel intra, inter;
  if (d.name == "cpu") {
    intra = {"shm", perNode, 10e9, 1e-6};
    inter = {"ethernet", nodes * perNode, 1.25e9, 20e-6};  // 10 Gb/s
  } else if (d.name.rfind("a100", 0) == 0) {
    // NVLink 3: 600 GB/s bidirectional. nccl-tests all_reduce_perf on one 8-GPU A100 node:
    // busbw 232.5 GB/s (NVIDIA/nccl#1048, nccl-tests#175); a 2-GPU all-reduce of 32 B takes
    // 10.1 us (NVIDIA/nccl#583): 5 us per ring step. One HDR 200 Gb/s NIC per GPU: 24 GB/s
    // measured through one NIC between two nodes (NVIDIA/nccl#1048). IB latency per step: 6 us
    // (assumed: a NIC hop adds a few us to NVLink's 5; not fitted).
    intra = {"nvlink", perNode, 300e9, 5e-6, 232.5 / 300};
    inter = {"ib", nodes * perNode, 25e9, 6e-6, 24.0 / 25};
  } else {
    // NVLink 4: 900 GB/s bidirectional; "with the protocol overhead (~20%) NCCL can get an
    // effective NVLink bandwidth of 370GB/s" (NVIDIA maintainer, nccl-tests#212). One NDR
    // 400 Gb/s NIC per GPU at HDR's measured fraction, 0.96.
    intra = {"nvlink", perNode, 450e9, 5e-6, 370.0 / 450};
    inter = {"ib", nodes * perNode, 50e9, 6e-6, 48.0 / 50};
  }
  std::vector<NetworkLevel> v{intra};
  if (nodes > 1) v.push_back(inter);
  return v;
}

StatusOr<ClusterSpec> parseClusterShorthand(std::string_view text, std::string_view flag) {
  const std::string where(flag);
  auto fail = [&](const std::string& m) {
    return Status::error(where + " '" + std::string(text) + "': " + m +
                         " (expected NODESxDEVICES:DEVICE, e.g. 128x8:a100-80g)");
  };
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return fail("no ':' before the device name");
  std::string_view counts = text.substr(0, colon), dev = text.substr(colon + 1);
  auto number = [](std::string_view s, int64_t& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && out >= 1 && out <= 1'000'000;
  };
  ClusterSpec c;
  size_t x = counts.find('x');
  if (x == std::string_view::npos) {
    c.nodes = 1;
    if (!number(counts, c.devicesPerNode)) return fail("bad device count '" + std::string(counts) + "'");
  } else {
    if (!number(counts.substr(0, x), c.nodes))
      return fail("bad node count '" + std::string(counts.substr(0, x)) + "'");
    if (!number(counts.substr(x + 1), c.devicesPerNode))
      return fail("bad devices-per-node count '" + std::string(counts.substr(x + 1)) + "'");
  }
  const DeviceSpec* d = findDevice(dev);
  if (!d) return fail("unknown device '" + std::string(dev) + "' (known: " + builtinDeviceNames() + ")");
  c.device = *d;
  c.name = std::string(text);
  c.levels = defaultNetwork(*d, c.nodes, c.devicesPerNode);
  Status st = c.check();
  if (!st.isOk()) return fail(st.message().substr(std::string("error: ").size()));
  return c;
}

StatusOr<ClusterSpec> timeShared(const ClusterSpec& c, int64_t ranks) {
  if (ranks < 1) return Status::error("time-sharing: ranks must be positive");
  if (ranks <= c.numDevices()) return c;
  if (c.nodes != 1)
    return Status::error("cluster '" + c.name + "': " + std::to_string(ranks) + " ranks on " +
                         std::to_string(c.numDevices()) +
                         " devices across several nodes (time-sharing is modelled inside one node only)");
  const double share = static_cast<double>(c.numDevices()) / static_cast<double>(ranks);
  ClusterSpec t = c;
  t.name = c.name + " (" + std::to_string(ranks) + " ranks time-sharing " +
           std::to_string(c.numDevices()) + " devices)";
  t.devicesPerNode = ranks;
  for (double& p : t.device.matrixPeak) p *= share;
  t.device.vectorPeak *= share;
  t.device.memoryBandwidth *= share;
  t.device.memoryBytes *= share;
  t.device.launchOverhead /= share;
  t.device.gemm.itemSeconds /= share;  // a fixed cost, like the launch
  for (NetworkLevel& l : t.levels) {
    l.bandwidth *= share;
    l.largeBandwidth *= share;
    l.latency /= share;
    l.span = l.span == c.numDevices() ? ranks : l.span;
  }
  return t;
}

StatusOr<ClusterSpec> parseCluster(std::string_view text, const std::string& fileName) {
  if (text.find('\n') == std::string_view::npos && text.find(':') != std::string_view::npos &&
      text.find(' ') == std::string_view::npos)
    return parseClusterShorthand(text);
  return parseClusterFile(text, fileName);
}

}  // namespace tessera::partition::cost
