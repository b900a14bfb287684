// `fold`: constant folding and the algebraic identities autodiff and training-step output need.
//
// Constant folding: a pure op with at least one operand, all of them produced by `constant`
// ops, and a result shape of constants (at most kMaxFoldedElements elements, so folding never
// turns a small graph into huge literals) is evaluated with its reference semantics (the op
// table's EvalFn) and replaced by `constant` ops.
//
// Identities (applied only where the result type equals the kept value's type, so no use can
// see a different type): x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1 -> x (0 and 1 being `full` or
// all-equal `constant` values); reshape and broadcast_in_dim to the same type, transpose by the
// identity permutation, cast to the same dtype, neg(neg x) -> x; reshape(reshape x) -> one
// reshape; transpose(transpose x) -> one transpose. A value returned by the function is not
// replaced, so result names (e.g. `grad_w`) survive. Ops left unused are erased; their now-dead
// producers are left to `dce`.
//
// Preconditions: the module verifies (folding evaluates ops, which assumes well-typed operands).
#pragma once

#include "passes/Pass.h"

namespace tessera::passes {

class FoldPass final : public Pass {
 public:
  static constexpr int64_t kMaxFoldedElements = 4096;
  std::string_view name() const override { return "fold"; }
  StatusOr<bool> run(ir::Module& m) override;
};

}  // namespace tessera::passes
