// Dead code elimination: backward sweeps until nothing more is removed.
#include "passes/DcePass.h"

namespace tessera::passes {

static bool isDead(const ir::Op& op) {
  if (op.info().hasSideEffect()) return false;
  for (int i = 0; i < op.numResults(); ++i)
    if (op.result(i)->hasUses()) return false;
  return true;
}

bool eliminateDeadOps(ir::Function& f) {
  bool changed = false;
  // Walking backwards frees an op's operands before their producers are visited, so one sweep
  // normally suffices in a single block; the loop makes the fixed point explicit.
  for (bool again = true; again;) {
    again = false;
    for (int i = f.numOps() - 1; i >= 0; --i) {
      ir::Op* op = f.ops()[i].get();
      if (!isDead(*op)) continue;
      f.eraseOp(op);
      again = changed = true;
    }
  }
  return changed;
}

StatusOr<bool> DcePass::run(ir::Module& m) {
  bool changed = false;
  for (const auto& f : m.functions()) changed |= eliminateDeadOps(*f);
  return changed;
}

}  // namespace tessera::passes
