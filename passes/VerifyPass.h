// `verify`: checks every IR invariant (ir/Verifier.h) and changes nothing. Useful as the first
// step of a pipeline string, or between passes when debugging. No preconditions.
#pragma once

#include "passes/Pass.h"

namespace tessera::passes {

class VerifyPass final : public Pass {
 public:
  std::string_view name() const override { return "verify"; }
  StatusOr<bool> run(ir::Module& m) override;
};

}  // namespace tessera::passes
