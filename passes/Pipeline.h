// A pipeline is a string: `verify,dce,cse` names registered passes (PassRegistry.def), run in
// that order. After every pass the verifier runs, so a pass that leaves the module invalid is
// named in the error instead of surfacing later as a confusing failure elsewhere.
//
// A pass may take options in braces, `train-step{optimizer=adamw,lr=0.001,accum=2}`: each
// `key=value` goes to Pass::setOption before the pass runs (passes without options reject any).
//
// Precondition of run(): the module verifies (the CLI verifies it after reading).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "passes/Pass.h"

namespace tessera::passes {

class Pipeline {
 public:
  // Comma-separated pass names; spaces around names are ignored and "" is the empty pipeline.
  // An unknown or empty name is an error listing the known passes.
  static StatusOr<Pipeline> parse(std::string_view spec);

  // Runs the passes in order, verifying after each; true if any pass changed the module.
  // Errors keep the failing op's location and add a note naming the pass.
  StatusOr<bool> run(ir::Module& m) const;

  std::vector<std::string> names() const;
  bool empty() const { return passes_.empty(); }

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
};

// `s` with `note` appended on a new line, keeping its location (for "while running pass ...").
Status withNote(const Status& s, const std::string& note);

}  // namespace tessera::passes
