// Layout helpers shared by the data-movement and contraction semantics: permuting the dims of a
// concrete tensor, and recovering symbol values from an op's symbolic types and the concrete
// shapes the interpreter passes in (slice bounds such as `S - 1` need them).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/OpRules.h"

namespace tessera::ir {

// The values of `t` with its dims reordered: result dim i is operand dim perm[i] (row-major).
std::vector<double> permuteData(const Tensor& t, const std::vector<int64_t>& perm);

// Symbol values implied by matching the op's operand and result types against the concrete
// operand tensors and result shapes of `ctx`. A dim that is one symbol times a constant plus a
// constant (`S`, `2*B`, `S + 1`) binds its symbol; other dims bind nothing.
std::map<std::string, int64_t> symbolsFromShapes(const EvalContext& ctx);

}  // namespace tessera::ir
