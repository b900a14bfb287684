// `train-step`: adds @train_step to the module from @main's loss (TrainStep.h), with options
// from the pipeline string, e.g. `train-step{optimizer=sgd,lr=0.1,momentum=0.9,accum=2,clip=1}`
// (keys: TrainStepOptions.h). Without options: AdamW with torch's defaults, no accumulation, no
// clipping.
//
// Preconditions (checked): the module has @main with a float scalar result 0 and trainable
// parameters, and no @train_step yet.
#pragma once

#include "passes/Pass.h"
#include "passes/training/TrainStepOptions.h"

namespace tessera::passes {

class TrainStepPass final : public Pass {
 public:
  std::string_view name() const override { return "train-step"; }
  StatusOr<bool> run(ir::Module& m) override;
  Status setOption(std::string_view key, std::string_view value) override;

 private:
  TrainStepOptions options_;
};

}  // namespace tessera::passes
