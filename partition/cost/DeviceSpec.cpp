// The device specs shipped with Tessera. GPU figures are the vendors' data-sheet numbers (dense,
// no sparsity); the GEMM efficiency comes from a published measurement (below), the memory
// efficiency is the one constant fitted (below). The `cpu` spec is one core of this machine;
// bench/cpu_calibrate writes a cluster file with its measured figures.
#include "partition/cost/DeviceSpec.h"

#include <algorithm>

namespace tessera::partition::cost {

double GemmEfficiency::at(double m, double n, double k) const {
  auto f = [&](double d) { return d <= 0 ? 0.0 : d / (d + halfDim); };
  return max * f(m) * f(n) * f(k);
}

double GemmEfficiency::at(double m, double n, double k, bool ta, bool tb) const {
  return at(m, n, k) * (ta ? transA : 1.0) * (tb ? transB : 1.0);
}

namespace {

using ir::DType;

DeviceSpec gpu(std::string name, double bf16, double f32, double f64, double vector, double memGB,
               double bwTBs, double gemmMax) {
  DeviceSpec d;
  d.name = std::move(name);
  d.setPeak(DType::BF16, bf16);
  d.setPeak(DType::F16, bf16);
  d.setPeak(DType::F32, f32);
  d.setPeak(DType::F64, f64);
  d.setPeak(DType::I32, vector);
  d.setPeak(DType::I64, vector);
  d.setPeak(DType::Bool, vector);
  d.vectorPeak = vector;
  d.memoryBytes = memGB * 1e9;
  d.memoryBandwidth = bwTBs * 1e12;
  // The achievable fraction of HBM bandwidth for the framework's memory-bound kernels (dropout,
  // the fused softmax, LayerNorm, bias-GeLU, the fp32 cross-entropy, Adam). The one constant of
  // the GPU model fitted to a measurement: on Megatron-LM SC'21 Table 1 (least mean absolute
  // error over the ten rows, with every other constant fixed from its source), 0.68. A copy
  // kernel reaches more (~0.85-0.9 of the data sheet); the training kernels of 2021 read and write
  // fp16 tensors with masks and row reductions, and reach less. Korthikanti et al.'s Table 5 then
  // comes out within the tolerance with no further change (docs/planner.md).
  d.memoryEfficiency = 0.68;
  d.launchOverhead = 3e-6;    // back-to-back kernel gap on a busy stream
  // The best fraction of peak a bf16 GEMM reaches is the measured "maximum achievable matmul
  // FLOPS" over a sweep of large shapes (Bekman's mamf-finder: A100 SXM 267.9 of 312 TFLOP/s,
  // H100 SXM 792 of 989); smaller dimensions lose more by d/(d + 64): ~83% of peak at 8192^3,
  // ~72% at 2048^3, ~57% with k = 128 (batched attention).
  d.gemm = GemmEfficiency{gemmMax, 64};
  return d;
}

std::vector<DeviceSpec> makeBuiltins() {
  std::vector<DeviceSpec> v;
  // A100 SXM: 312 TFLOP/s bf16/fp16, 19.5 fp32 (no TF32), 19.5 fp64 tensor core.
  v.push_back(gpu("a100-40g", 312e12, 19.5e12, 19.5e12, 19.5e12, 40, 1.555, 0.86));
  v.push_back(gpu("a100-80g", 312e12, 19.5e12, 19.5e12, 19.5e12, 80, 2.039, 0.86));
  // H100 SXM: 989 TFLOP/s dense bf16, 67 fp32 / fp64 tensor core, 3.35 TB/s.
  v.push_back(gpu("h100-sxm", 989e12, 67e12, 67e12, 67e12, 80, 3.35, 0.80));
  // H200: H100's compute with 141 GB of HBM3e at 4.8 TB/s.
  v.push_back(gpu("h200", 989e12, 67e12, 67e12, 67e12, 141, 4.8, 0.80));

  // One core of this machine (AMD EPYC, AVX2 + FMA, 2 cores, 24 GiB): Tessera's ranks are
  // single-threaded, one per core. 96 GFLOP/s f32 FMA peak per core (bench/fma_peak); no native
  // bf16 GEMM in the kernels used: bf16/f16 compute at the f32 rate, f64 at half. Memory is the
  // core's share of the RAM. The bandwidth (10 GB/s per core) and the sgemm curve (0.8, 24) are
  // round placeholders, not a quiet-machine measurement: bench/cpu_calibrate's cluster file
  // (--cluster FILE) replaces every figure here with this machine's measured ones.
  DeviceSpec cpu;
  cpu.name = "cpu";
  for (DType t : ir::kAllDTypes) cpu.setPeak(t, 96e9);
  cpu.setPeak(DType::F64, 48e9);
  cpu.vectorPeak = 96e9;
  cpu.memoryBytes = 12e9;
  cpu.memoryBandwidth = 10e9;
  cpu.memoryEfficiency = 1;
  cpu.launchOverhead = 1e-6;
  cpu.gemm = GemmEfficiency{0.8, 24};
  v.push_back(cpu);
  return v;
}

}  // namespace

const std::vector<DeviceSpec>& builtinDevices() {
  static const std::vector<DeviceSpec> v = makeBuiltins();
  return v;
}

const DeviceSpec* findDevice(std::string_view name) {
  for (const DeviceSpec& d : builtinDevices())
    if (d.name == name) return &d;
  return nullptr;
}

std::string builtinDeviceNames() {
  std::string s;
  for (const DeviceSpec& d : builtinDevices()) s += (s.empty() ? "" : ", ") + d.name;
  return s;
}

}  // namespace tessera::partition::cost
