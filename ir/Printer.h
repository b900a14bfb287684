// The text form of a module (grammar in docs/ir-text-format.md). Printing is canonical: the
// parser reads back exactly what is printed, and print(parse(print(m))) == print(m).
#pragma once

#include <string>
#include <vector>

#include "ir/Module.h"

namespace tessera::ir {

std::string printModule(const Module& m);
// One op as it appears inside a function body (without indentation or newline), for diagnostics.
std::string printOp(const Op& op);
// Every op of f exactly as printOp prints it, naming f's values once (printOp names the whole
// function on every call, so calling it for each op of a large function is quadratic).
std::vector<std::string> printOps(const Function& f);

}  // namespace tessera::ir
