// Reads the text form of a module. Errors name `filename:line:col`; the parser never crashes or
// hangs on any input, however malformed (fuzz tests feed it truncated and byte-flipped files).
// The result is well-formed enough to print; run verifyModule for the remaining checks.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ir/Module.h"

namespace tessera::ir {

StatusOr<std::unique_ptr<Module>> parseModule(std::string_view text, const std::string& filename);

}  // namespace tessera::ir
