// The `train-step` pass (see TrainStepPass.h).
#include "passes/training/TrainStepPass.h"

#include "passes/training/TrainStep.h"

namespace tessera::passes {

Status TrainStepPass::setOption(std::string_view key, std::string_view value) {
  return setTrainStepOption(options_, key, value);
}

StatusOr<bool> TrainStepPass::run(ir::Module& m) {
  TRY_ASSIGN(TrainStepInfo info, buildTrainStep(m, options_));
  (void)info;
  return true;
}

}  // namespace tessera::passes
