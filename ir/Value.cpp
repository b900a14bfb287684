// Use-list maintenance.
#include "ir/Value.h"

#include <algorithm>
#include <cassert>

#include "ir/Function.h"
#include "ir/Op.h"

namespace tessera::ir {

void Value::removeUse(Use u) {
  auto it = std::find(uses_.begin(), uses_.end(), u);
  assert(it != uses_.end());
  uses_.erase(it);
}

void Value::replaceAllUsesWith(Value* v) {
  if (v == this) return;
  std::vector<Use> uses = uses_;
  for (const Use& u : uses) {
    if (u.user) u.user->setOperand(u.index, v);
    else func_->setResult(u.index, v);
  }
}

}  // namespace tessera::ir
