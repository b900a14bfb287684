// `autodiff`: appends the gradient of the loss with respect to every trainable parameter to the
// module's entry function, in place (Autodiff.h does the work).
//
// The entry function is @main, or the module's only function. The loss is its result 0 (the zoo
// and the importers put it there); the parameters are its arguments bound to trainable module
// parameters (trainableArguments). Afterwards the function returns its old results followed by
// one `grad_<name>` per trainable argument, in argument order.
//
// Preconditions (checked): the module verifies; there is an entry function, its result 0 is a
// float scalar, and it has at least one trainable argument.
#pragma once

#include "passes/Pass.h"

namespace tessera::passes {

class AutodiffPass final : public Pass {
 public:
  std::string_view name() const override { return "autodiff"; }
  StatusOr<bool> run(ir::Module& m) override;
};

}  // namespace tessera::passes
