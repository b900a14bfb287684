// The event simulator: one representative rank running its per-rank program (an ir::Function
// with local shapes whose collectives name mesh axes), priced by the cost model.
//
// Streams: one compute stream runs every non-collective op in program order; each distinct axis
// set ("tp", "dp", "dp,tp") has its own communication stream, running its collectives in
// program order. A collective starts when its operand is ready, its stream is free and the
// compute stream has reached it in program order (the host issues it there).
//   - Blocking (the default): the compute stream waits until the collective finishes.
//   - Async: the compute stream goes on; the first op that uses the result waits for it.
// The IR has no start/done op pair yet, so "async" is a simulator option: every collective
// (`asyncCollectives`) or chosen ones (`asyncOps`), where the op's position is its start and its
// first use its done. When the partitioner emits start/done pairs this option becomes the
// program's own.
//
// Outputs: step time = compute + exposed communication (time the compute stream waits on a
// stream, per axis set, including what is still running after the last compute op), recompute
// time (ops listed in `recomputeOps`), model FLOPs (all compute ops except recompute) and
// hardware FLOPs, MFU = model FLOPs / step / peak of the dominant GEMM dtype, and the peak memory
// by liveness (Memory.h).
#pragma once

#include <map>
#include <set>
#include <string>

#include "ir/Function.h"
#include "ir/Mesh.h"
#include "partition/cost/ClusterSpec.h"
#include "partition/cost/EngineFusion.h"
#include "partition/cost/OpCost.h"
#include "partition/sim/Memory.h"

namespace tessera::partition::sim {

struct SimOptions {
  cost::SymbolValues symbols;
  bool fuseElementwise = true;
  // Consumer: the GPU kernels' fusion (cost/ProgramCost.h); Engine: the CPU engine's groups,
  // views and leaves (cost/EngineFusion.h), for CPU ranks running the compiled engine.
  cost::FusionRule fusion = cost::FusionRule::Consumer;
  bool asyncCollectives = false;
  // Pipelines (PipelineSim.h): a send of at most this many bytes is eager — the sender goes on
  // once the message is copied out, without waiting for the receive (MPI's eager protocol; Open
  // MPI's shared-memory transport's limit is 4096 bytes). Larger sends, and every send when 0,
  // block until the receive is posted (rendezvous).
  double eagerSendBytes = 0;
  std::set<const ir::Op*> asyncOps;
  std::set<const ir::Op*> recomputeOps;
};

struct AxisStats {
  int count = 0;            // collectives issued
  double busySeconds = 0;   // sum of their durations
  double exposedSeconds = 0;  // compute stream waiting on this stream
  double bytes = 0;         // sum of message sizes S
};

struct SimResult {
  double stepSeconds = 0;
  double computeSeconds = 0;     // busy time of the compute stream, recompute included
  double recomputeSeconds = 0;
  double exposedCommSeconds = 0;
  std::map<std::string, AxisStats> comm;  // by axis set
  // Compute-stream seconds by kind of work: "gemm" (dot, matmul), else the op's mnemonic; fused
  // producers are charged to their own mnemonic (their share of the consumer's kernel). For
  // comparing with the engine's measured thunk profile (TESSERA_PROFILE).
  std::map<std::string, double> computeByKind;
  double modelFlops = 0;
  double hardwareFlops = 0;
  double peakFlops = 0;          // the device peak MFU is measured against
  double mfu = 0;
  MemoryProfile memory;
  int numOps = 0;
};

// Errors: an unbound symbol, a collective naming an axis the mesh lacks, a mesh larger than the
// cluster — each naming the op.
StatusOr<SimResult> simulate(const ir::Function& f, const ir::Mesh& mesh,
                             const cost::ClusterSpec& cluster, const SimOptions& opts);

}  // namespace tessera::partition::sim
