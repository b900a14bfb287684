// `dce`: dead code elimination. Removes every op none of whose results is used — by another op
// or by the function's `return` — and that has no side effect (OpInfo::hasSideEffect: the
// kSideEffect and kCollective traits; a collective is kept even when unused because every rank
// must issue the same sequence of collectives). Removing an op can make its operands' producers
// dead in turn; the pass iterates to a fixed point.
//
// Preconditions: none beyond the IR's own structural invariants (use lists are maintained by
// Op and Function, so "unused" is exact). Function arguments are never removed.
#pragma once

#include "passes/Pass.h"

namespace tessera::passes {

class DcePass final : public Pass {
 public:
  std::string_view name() const override { return "dce"; }
  StatusOr<bool> run(ir::Module& m) override;
};

// DCE of one function; true if it removed anything.
bool eliminateDeadOps(ir::Function& f);

}  // namespace tessera::passes
