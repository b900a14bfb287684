// The registry table, built from PassRegistry.def.
#include "passes/PassRegistry.h"

#include <algorithm>

#include "passes/CsePass.h"
#include "passes/DcePass.h"
#include "passes/FoldPass.h"
#include "passes/VerifyPass.h"
#include "passes/autodiff/AutodiffPass.h"
#include "passes/remat/RematPass.h"
#include "passes/training/TrainStepPass.h"

namespace tessera::passes {

const std::vector<PassInfo>& allPasses() {
  static const std::vector<PassInfo> table = {
#define PASS(name, Class, description) \
  PassInfo{name, description, []() -> std::unique_ptr<Pass> { return std::make_unique<Class>(); }},
#include "passes/PassRegistry.def"
  };
  return table;
}

const PassInfo* findPass(std::string_view name) {
  for (const PassInfo& p : allPasses())
    if (p.name == name) return &p;
  return nullptr;
}

std::string knownPassNames() {
  std::string out;
  for (const PassInfo& p : allPasses()) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

std::string passHelp() {
  size_t width = 0;
  for (const PassInfo& p : allPasses()) width = std::max(width, p.name.size());
  std::string out;
  for (const PassInfo& p : allPasses()) {
    out += "  " + std::string(p.name) + std::string(width - p.name.size() + 2, ' ');
    out += std::string(p.description) + "\n";
  }
  return out;
}

}  // namespace tessera::passes
