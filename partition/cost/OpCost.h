// Per-op work and its time on a device: FLOPs and bytes moved from an op's operand and result
// types with concrete symbol values (cost column: OpCosts.def), and the roofline
//
//   time = max(flops / (peak(dtype) * efficiency), bytes / (bandwidth * memoryEfficiency)) + launch
//
// where efficiency is the GEMM curve (DeviceSpec.h) for dot/matmul and 1 on the vector units for
// everything else. Collectives have no compute cost here: CollectiveCost.h prices them.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ir/Op.h"
#include "ir/Status.h"
#include "partition/cost/DeviceSpec.h"

namespace tessera::partition::cost {

using SymbolValues = std::map<std::string, int64_t>;

enum class CostCategory {
  Elementwise, Creation, View, Copy, Reduce, Dot, Matmul, Gather, ScatterAdd, OneHot, TopK,
  Cumsum, Softmax, Norm, CrossEntropy, Collective
};

struct OpCost {
  double flops = 0;
  double bytesRead = 0;
  double bytesWritten = 0;
  bool launchesKernel = true;
  bool isCollective = false;
  bool isGemm = false;
  double m = 0, n = 0, k = 0;          // GEMM dims (batch folded out), for the efficiency curve
  double batch = 1;                    // GEMM batch items (one BLAS call each in the CPU engine)
  // The transpose form a BLAS call reads the operands in: op(A) = A^T when A's contracted dims
  // come before its free dims in memory (following transpose ops, which the engine folds into
  // the call as views), op(B) = B^T when B's free dims come before its contracted dims.
  bool transA = false, transB = false;
  ir::DType computeType = ir::DType::F32;
  // Fused into its only consumer (ProgramCost.h): its result is never written to memory and it
  // pays no launch of its own.
  bool fused = false;
  // Ops in the kernel this op's cost stands for: > 1 for the last member of an engine fusion
  // group (EngineFusion.h), which carries the whole group's work.
  int kernelOps = 1;
  double bytes() const { return bytesRead + bytesWritten; }
};

CostCategory costCategory(ir::OpKind kind);
// Whether OpCosts.def has a line for `kind` (the completeness test uses it).
bool hasCostRule(ir::OpKind kind);

// Bytes of a tensor type for the given symbol values; errors name `loc` and the unbound symbol.
StatusOr<double> tensorBytes(const ir::TensorType& t, const SymbolValues& syms, const Location& loc);
StatusOr<double> tensorElements(const ir::TensorType& t, const SymbolValues& syms, const Location& loc);

// The op's work with the given symbol values. Errors name the op's location.
StatusOr<OpCost> opCost(const ir::Op& op, const SymbolValues& syms);

// Roofline time of one op's work on `d`, seconds (0 for ops that launch no kernel). A GEMM runs at
// the curve's fraction for its form (times d.gemm.batched when batched) and adds
// d.gemm.itemSeconds per batch item.
double computeSeconds(const OpCost& c, const DeviceSpec& d);

}  // namespace tessera::partition::cost
