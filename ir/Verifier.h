// Checks the invariants every pass may rely on: SSA order (operands defined before use), result
// types equal the op's inferred types, shardings fit their value's rank and name declared axes at
// most once, meshes are consistent (sub-meshes agree with their parents), every symbol used in a
// shape is declared and divisions of symbols are exact given the declared divisibility facts,
// parameter initial values match their types, names are unique.
#pragma once

#include "ir/Module.h"

namespace tessera::ir {

// The first violation, located at the offending op, value or declaration.
Status verifyModule(const Module& m);

}  // namespace tessera::ir
