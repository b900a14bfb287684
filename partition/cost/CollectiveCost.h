// What a collective costs on a cluster. Each rank moves the algorithm's bytes (REFERENCE.md):
//
//   ring all-reduce          2(n-1)/n * S   in 2(n-1) steps
//   reduce-scatter, all-gather, all-to-all   (n-1)/n * S   in n-1 steps
//   broadcast (pipelined)    S              in n-1 steps
//   send/recv, permute       S              in 1 step
//
// time = steps * latency + bytes / bandwidth at the outermost network level the group crosses.
// All-reduce may also run hierarchically — reduce-scatter inside each level's blocks, all-reduce
// of the 1/c shard one level up, all-gather back down — which moves only S / (devices per node)
// over the slow links; the cheaper of flat and hierarchical is taken, as NCCL's tuner would.
//
// The group of a collective is the set of devices that share the representative rank's mesh
// coordinates except along the axes the op names; device ids come from the mesh's device order
// (row-major, identity by default), and node boundaries from the cluster (a node's devices are
// contiguous ids).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/Mesh.h"
#include "ir/Op.h"
#include "partition/cost/ClusterSpec.h"
#include "partition/cost/OpCost.h"

namespace tessera::partition::cost {

enum class CollectiveKind { AllReduce, ReduceScatter, AllGather, AllToAll, Broadcast, SendRecv };
const char* collectiveKindName(CollectiveKind k);

// How a group of devices sits in the network hierarchy.
struct GroupShape {
  int64_t size = 1;
  int level = 0;                  // outermost level crossed
  // factors[l], l = 0..level: group members per level-l block, counted in level-(l-1) blocks
  // (factors[0] = members per innermost block). Their product is `size`.
  std::vector<int64_t> factors;
};

// The shape of a group given by global device ids. Asserts the ids are valid for the cluster and
// the group is regular (the same number of members in each block it touches).
GroupShape groupShape(const std::vector<int64_t>& deviceIds, const ClusterSpec& c);

// Global device ids of the group of mesh coordinate `rank` (a linear row-major index) along
// `axes`. Errors name an axis the mesh lacks or a mesh larger than the cluster.
StatusOr<std::vector<int64_t>> axisGroup(const ir::Mesh& mesh, const std::vector<std::string>& axes,
                                         const ClusterSpec& c, int64_t rank = 0);

// A flat ring over `n` ranks at one network level.
double ringSeconds(CollectiveKind k, double bytes, int64_t n, const NetworkLevel& level);
// Flat over the outermost level crossed.
double flatSeconds(CollectiveKind k, double bytes, const GroupShape& g, const ClusterSpec& c);
// Hierarchical all-reduce (only defined for AllReduce).
double hierarchicalAllReduceSeconds(double bytes, const GroupShape& g, const ClusterSpec& c);

struct CollectiveEstimate {
  CollectiveKind kind = CollectiveKind::AllReduce;
  double bytes = 0;         // S: the message (see collectiveBytes)
  int64_t groupSize = 1;
  int level = 0;
  bool hierarchical = false;
  double seconds = 0;
  std::string axes;         // "tp", "dp,tp": the communicator (one stream per axis set)
};

// The best time for `k` over `g` (hierarchical all-reduce when cheaper).
CollectiveEstimate estimateCollective(CollectiveKind k, double bytes, const GroupShape& g,
                                      const ClusterSpec& c);

// The kind of a collective op and its message size S: the full buffer for all-reduce,
// reduce-scatter (input), all-gather (output), all-to-all, broadcast, send, recv, permute.
StatusOr<CollectiveEstimate> estimateCollectiveOp(const ir::Op& op, const SymbolValues& syms,
                                                  const ir::Mesh& mesh, const ClusterSpec& c);

}  // namespace tessera::partition::cost
