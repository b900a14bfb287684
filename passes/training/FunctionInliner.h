// Copying the body of one function into another, optionally with one symbol replaced by a Dim.
//
// The IR has no call op, so a training step holds its forward and backward passes inline: once
// per micro-batch when gradients are accumulated. A micro-batch is the forward function with its
// batch symbol B replaced by B/K everywhere — in argument types, in the declared result types
// (reshape, iota, full, ...) and in DimList attributes (slice bounds) — which is exactly the
// forward function specialized to the micro-batch size, without re-deriving any shape by hand.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ir/Function.h"
#include "passes/training/IrEmitter.h"

namespace tessera::passes {

struct DimSubstitution {
  std::string symbol;
  ir::Dim replacement;
};

ir::Dim substitute(const ir::Dim& d, const DimSubstitution& s);
ir::TensorType substitute(const ir::TensorType& t, const DimSubstitution& s);

// Appends copies of `src`'s ops to the end of `dst`; `args[i]` is the value of `dst` that stands
// for argument i of `src` (its type must be src's argument type after substitution). Returns the
// values of `dst` that correspond to src's results. Result names are src's names plus `suffix`,
// made unique through `names` when given (else copied as they are).
StatusOr<std::vector<ir::Value*>> inlineFunction(const ir::Function& src, ir::Function& dst,
                                                 const std::vector<ir::Value*>& args,
                                                 const std::optional<DimSubstitution>& subst,
                                                 IrEmitter* names = nullptr,
                                                 const std::string& suffix = "");

}  // namespace tessera::passes
