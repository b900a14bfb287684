// The `autodiff` pass: finds the entry function and differentiates its loss (AutodiffPass.h).
#include "passes/autodiff/AutodiffPass.h"

#include "passes/autodiff/Autodiff.h"

namespace tessera::passes {

StatusOr<bool> AutodiffPass::run(ir::Module& m) {
  ir::Function* f = m.findFunction("main");
  if (!f && m.functions().size() == 1) f = m.functions()[0].get();
  if (!f)
    return Status::error("autodiff: the module has no @main and " +
                         std::to_string(m.functions().size()) +
                         " functions; which one to differentiate is ambiguous");
  std::vector<ir::Value*> wrt = trainableArguments(*f);
  if (wrt.empty())
    return Status::error(f->loc, "autodiff: @" + f->name() +
                                     " has no trainable arguments (arguments named after a "
                                     "parameter that is not frozen)");
  TRY_ASSIGN(GradientInfo info, differentiate(*f, 0, wrt));
  (void)info;
  return true;
}

}  // namespace tessera::passes
