// Early optimizer updates: moves each op of the training step's update section (everything
// emitted after the gradients exist: step count, optimizer updates) to just after the last op of
// the step that defines one of its operands or still reads an argument it overwrites. A parameter's update then runs as soon as
// its gradient is final and the backward pass no longer reads the parameter, so the gradient's
// buffer dies at once and the update can overwrite the parameter in place — instead of every
// gradient staying alive until the end of the step. The same ops in a dependency-respecting
// order: results are bitwise unchanged. Used when memory matters (`tessera train --remat`);
// left off otherwise, because data-parallel plans want the gradients' all-reduces to overlap the
// rest of the backward pass before any update needs them.
#pragma once

#include "ir/Function.h"

namespace tessera::passes {

// Reorders f's ops: ops before `tailStart` keep their order; each op from `tailStart` on moves
// to just after the last earlier op that defines one of its operands or still reads one of its
// argument operands (tail ops keep their relative order).
void scheduleUpdatesEarly(ir::Function& f, size_t tailStart);

}  // namespace tessera::passes
