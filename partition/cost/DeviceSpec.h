// What one accelerator (or this CPU) can do, as the cost model needs it: peak FLOP/s per element
// type, memory size and bandwidth, per-kernel launch overhead, and how close real kernels get to
// those peaks. Named specs ship with Tessera (A100 40/80 GB, H100 SXM, H200, `cpu`); a user's
// cluster file (ClusterSpec.h) can start from one and override any figure.
//
// Why an efficiency curve and not one factor: small GEMMs do not fill the machine (tiles, waves,
// the tail of the k loop), so a layer split 8 ways by tensor parallelism runs at a lower fraction
// of peak than the same layer whole. The curve is a product of one saturating factor per GEMM
// dimension, d / (d + halfDim), times the best fraction a large GEMM reaches. Both constants are
// set once per device kind from published cuBLAS figures (GPUs) or from the OpenBLAS measurement
// in ARCHITECTURE.md §7 (this CPU), never per model.
//
// Why the CPU curve has three more terms (session 13): the engine's batched attention GEMMs ran at
// ~0.55x the large-GEMM rate in its thunk profile where the (m, n, k) curve, fitted on one hot
// GEMM repeated, said ~0.8x. A batched GEMM is one BLAS call per batch item, each packing fresh
// operands that are not in cache: a rate factor (batched) and a fixed time per item
// (itemSeconds); and the transpose form the engine folds a view into changes the BLAS packing
// path (transA, transB). bench/cpu_calibrate measures them through the engine's own GEMM entry
// (codegen runGemm); the defaults (1, 0 s, 1, 1) leave the GPU specs unchanged.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "ir/DType.h"

namespace tessera::partition::cost {

struct GemmEfficiency {
  double max = 0.9;       // fraction of peak a very large GEMM reaches
  double halfDim = 64;    // a GEMM dimension of this size halves that dimension's factor
  double transA = 1;       // factor on the fraction when A is read transposed (op(A) = A^T)
  double transB = 1;       // likewise for B^T
  double batched = 1;      // factor on the fraction for a batched GEMM (batch > 1)
  double itemSeconds = 0;  // fixed time per batch item (one BLAS call: its packing, its set-up)
  // Achievable fraction of peak for an m x k by k x n product (batch does not change it).
  double at(double m, double n, double k) const;
  // The same with the transpose form: at(m, n, k) * (transA if ta) * (transB if tb).
  double at(double m, double n, double k, bool ta, bool tb) const;
};

struct DeviceSpec {
  std::string name;
  // Dense matrix-unit peak per element type, FLOP/s, indexed by ir::DType (integers and bool use
  // the vector rate: they never reach the tensor cores).
  std::array<double, 7> matrixPeak{};
  double vectorPeak = 0;        // FLOP/s for elementwise math (CUDA cores / SIMD), f32
  double memoryBytes = 0;       // device memory capacity
  double memoryBandwidth = 0;   // bytes/s, vendor figure
  double memoryEfficiency = 0.85;  // achievable fraction of memoryBandwidth in a streaming kernel
  double launchOverhead = 0;    // seconds per kernel
  GemmEfficiency gemm;

  double peak(ir::DType t) const { return matrixPeak[static_cast<size_t>(t)]; }
  void setPeak(ir::DType t, double v) { matrixPeak[static_cast<size_t>(t)] = v; }
};

// The specs shipped with Tessera, in a stable order.
const std::vector<DeviceSpec>& builtinDevices();
// The named spec, or null.
const DeviceSpec* findDevice(std::string_view name);
// "a100-40g, a100-80g, ..." for error messages.
std::string builtinDeviceNames();

}  // namespace tessera::partition::cost
