// What a pass is: a small type with a name and one `run` over a module.
//
// `run` returns whether it changed anything (so a pipeline can report or iterate), or an error
// Status located at the op that made the pass fail. Every pass states its preconditions in its
// header and checks the ones it relies on instead of trusting an earlier pass to have
// established them; the pipeline (Pipeline.h) runs the verifier after each pass, so a pass that
// breaks an invariant is caught right after it ran, with its name in the message.
//
// Passes are registered by one line in PassRegistry.def; nothing else needs editing to add one.
#pragma once

#include <string>
#include <string_view>

#include "ir/Module.h"
#include "ir/Status.h"

namespace tessera::passes {

class Pass {
 public:
  virtual ~Pass() = default;
  // The name used in pipeline strings (`dce`), as registered in PassRegistry.def.
  virtual std::string_view name() const = 0;
  // true: the module changed; false: it is exactly as before.
  virtual StatusOr<bool> run(ir::Module& m) = 0;
  // One option from a pipeline string (`train-step{lr=0.1,accum=2}`), called once per key, in
  // order, before run(). Passes without options keep this default, which rejects every key.
  virtual Status setOption(std::string_view key, std::string_view value) {
    (void)value;
    return Status::error("unknown option '" + std::string(key) + "' for pass '" +
                         std::string(name()) + "'");
  }
};

}  // namespace tessera::passes
