// `cse`: common subexpression elimination. Two pure ops (no kSideEffect or kCollective trait)
// are the same computation when they have the same kind, the same operand values in the same
// order, equal attributes (floating-point values compared bit for bit, so 0.0 and -0.0 or two
// different NaNs stay distinct) and equal result types and result shardings. The first
// occurrence is kept and every use of a later one is redirected to it, including the function's
// return; the later op is erased. Redirecting can make further ops equal; a single forward walk
// sees them because it reaches them after their operands were redirected. `random` is pure
// (counter-based, Random in OpKinds.def), so two draws with equal seeds are one draw.
//
// Precondition, checked: every operand is defined before its use (SSA order), since keeping the
// first occurrence is only correct when it comes before all uses of the ops merged into it.
#pragma once

#include "passes/Pass.h"

namespace tessera::passes {

class CsePass final : public Pass {
 public:
  std::string_view name() const override { return "cse"; }
  StatusOr<bool> run(ir::Module& m) override;
};

// CSE of one function; true if it merged anything.
StatusOr<bool> eliminateCommonSubexpressions(ir::Function& f);

}  // namespace tessera::passes
