// The verify pass: a thin wrapper so the verifier can appear in pipeline strings.
#include "passes/VerifyPass.h"

#include "ir/Verifier.h"

namespace tessera::passes {

StatusOr<bool> VerifyPass::run(ir::Module& m) {
  TRY(ir::verifyModule(m));
  return false;
}

}  // namespace tessera::passes
