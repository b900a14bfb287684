// Looking passes up by name. The list itself is PassRegistry.def.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "passes/Pass.h"

namespace tessera::passes {

struct PassInfo {
  std::string_view name;
  std::string_view description;
  std::unique_ptr<Pass> (*create)();
};

// Every registered pass, in PassRegistry.def order.
const std::vector<PassInfo>& allPasses();
// The pass registered under `name`, or null.
const PassInfo* findPass(std::string_view name);
// "verify, dce, cse": for error messages.
std::string knownPassNames();
// One line per pass, `  name  description`, for --help.
std::string passHelp();

}  // namespace tessera::passes
