// Choosing the optimizer implementation (see Optimizer.h).
#include "passes/training/Optimizer.h"

namespace tessera::passes {

std::unique_ptr<Optimizer> makeOptimizer(const OptimizerOptions& o) {
  switch (o.kind) {
    case OptimizerKind::Sgd: return makeSgd(o);
    case OptimizerKind::AdamW: return makeAdamW(o);
  }
  assert(false && "unknown optimizer kind");
  return nullptr;
}

}  // namespace tessera::passes
