// The reference interpreter: runs a function on concrete tensors, one op at a time, by the
// EvalFn of each op in the op table. It defines what every op means; every faster engine is
// checked against it.
//
// Symbol values (B, S, ...) are inferred from the shapes of the inputs; an argument without an
// input is bound to the module parameter of the same name (its initial value).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/Module.h"

namespace tessera::ir {

struct InterpretResult {
  std::vector<Tensor> outputs;                 // one per function result
  std::map<std::string, int64_t> symbols;      // the symbol values that were inferred
};

// Inputs by argument name (without `%`). Errors name the argument, the op or the symbol.
StatusOr<InterpretResult> interpret(const Function& f, const std::map<std::string, Tensor>& inputs);
// Inputs by argument position; every argument must be given.
StatusOr<InterpretResult> interpret(const Function& f, const std::vector<Tensor>& args);

class RankRuntime;
// Runs `f` as one rank of a multi-rank program: collectives and axis_index go to `runtime`
// (ir/RankRuntime.h). Inputs by argument position.
StatusOr<InterpretResult> interpret(const Function& f, const std::vector<Tensor>& args,
                                    RankRuntime& runtime);

}  // namespace tessera::ir
