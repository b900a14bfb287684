// A cluster as the cost model sees it: N nodes of G identical devices and a network hierarchy.
//
// Levels go from the innermost (NVLink inside a node) to the outermost (InfiniBand or Ethernet
// between nodes). Level i connects groups of `span` consecutive global device ids (devices of a
// node are contiguous); the last level spans the whole cluster. Bandwidth is per device and per
// direction (what one rank can push into the level), latency is per algorithm step. A collective
// over a set of devices runs at the outermost level the set crosses.
//
// Where clusters come from: the shorthand `128x8:a100-80g` (nodes x devices per node : device,
// with the device's usual network), or a cluster file whose format docs/cluster-format.md
// describes (parser in ClusterParser.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ir/Status.h"
#include "partition/cost/DeviceSpec.h"

namespace tessera::partition::cost {

struct NetworkLevel {
  std::string name;       // "nvlink", "ib", ...
  int64_t span = 1;       // devices connected by one group of this level
  double bandwidth = 0;   // bytes/s per device, one direction
  double latency = 0;     // seconds per algorithm step
  // Achievable fraction of `bandwidth` for bulk collectives: what NCCL's rings and trees actually
  // reach on the link (nccl-tests "bus bandwidth"), protocol and synchronization overheads
  // included. Stated once per link kind, never per model.
  double efficiency = 1.0;
  // Messages of at least `largeBytes` move at `largeBandwidth` instead (0: one regime). Why: on
  // this machine's shared-memory link the 2-rank all-reduce runs at ~1.2-1.5 GB/s up to 1 MiB and
  // at ~0.3 GB/s from 4 MiB on (comm_bench, every column alike: Open MPI's and Tessera's), a
  // cliff one straight line cannot fit; bench/cpu_calibrate fits both regimes. GPT-base's
  // gradients (2.4-9.4 MB per tensor) sit above it, GPT-small's (at most 1 MB) below.
  double largeBytes = 0;
  double largeBandwidth = 0;
  double effectiveBandwidth() const { return bandwidth * efficiency; }
  // The effective bandwidth for a collective whose message (CollectiveCost.h's S) is `bytes`.
  double effectiveBandwidth(double bytes) const {
    return (largeBytes > 0 && largeBandwidth > 0 && bytes >= largeBytes ? largeBandwidth : bandwidth) *
           efficiency;
  }
};

struct ClusterSpec {
  std::string name;
  int64_t nodes = 1;
  int64_t devicesPerNode = 1;
  DeviceSpec device;
  std::vector<NetworkLevel> levels;

  int64_t numDevices() const { return nodes * devicesPerNode; }
  // Index of the outermost level the given global device ids cross (0 if they share the
  // innermost group, or if there is only one device). Asserts ids are in range.
  int levelOf(const std::vector<int64_t>& deviceIds) const;
  // Checks spans (increasing, each dividing the next, the last = all devices), positive figures.
  Status check(const Location& loc = {}) const;
};

// The usual network of a device kind for `nodes` x `perNode` devices: NVLink + InfiniBand for
// GPUs (A100: 300 GB/s per direction, HDR 200 Gb/s per GPU; H100/H200: 450 GB/s, NDR 400 Gb/s),
// shared memory + Ethernet for `cpu`. One level when there is only one node. Efficiencies are
// nccl-tests bus bandwidths over the link rate: DGX A100 232.5 of 300 GB/s on NVLink and 24 of
// 25 GB/s per HDR NIC; H100 370 of 450 GB/s and 48 of 50 (sources in ClusterSpec.cpp).
std::vector<NetworkLevel> defaultNetwork(const DeviceSpec& d, int64_t nodes, int64_t perNode);

// `128x8:a100-80g` or `8:h100-sxm` (one node). Errors name the flag and the bad part.
StatusOr<ClusterSpec> parseClusterShorthand(std::string_view text, std::string_view flag = "--cluster");

// The cluster file format (docs/cluster-format.md). Errors are `file:line:col: error: ...`.
StatusOr<ClusterSpec> parseClusterFile(std::string_view text, const std::string& fileName);

// Shorthand if `text` looks like one (no newline, contains ':'), else a file's contents.
StatusOr<ClusterSpec> parseCluster(std::string_view text, const std::string& fileName);

// `--cluster`'s argument (ClusterLoad.cpp): the path of a cluster file if one exists there, else
// the shorthand. Errors name `flag` and the argument (or `file:line:col` inside the file). The
// one way the CLI commands (simulate, plan --auto) read a cluster.
StatusOr<ClusterSpec> loadCluster(std::string_view arg, std::string_view flag = "--cluster");

// `ranks` processes time-sharing the devices of a one-node cluster (more MPI ranks than cores,
// mpirun --oversubscribe): each rank gets numDevices/ranks of a device. Every rate — peaks,
// memory bandwidth, link bandwidth — is scaled by that share and every fixed cost (launch
// overhead, link latency) divided by it; memory is shared the same way. The model assumes the
// ranks run the same program in step, so the operating system's round-robin gives each an equal
// share over any interval longer than a time slice. `ranks` <= devices returns `c` unchanged.
// Errors: a multi-node cluster (no time-sharing across nodes), ranks < 1.
StatusOr<ClusterSpec> timeShared(const ClusterSpec& c, int64_t ranks);

}  // namespace tessera::partition::cost
