// What a training step is built with: the optimizer and its hyper-parameters (torch.optim names
// and defaults), gradient accumulation, clipping. Shared by the `train-step` pass (options from a
// pipeline string, `train-step{optimizer=adamw,lr=0.001,accum=2,clip=1.0}`) and `tessera train`
// (options from flags), so both accept exactly the same values and report the same errors.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ir/Status.h"

namespace tessera::passes {

enum class OptimizerKind { Sgd, AdamW };

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::AdamW;
  // torch.optim.SGD has no usable default learning rate in the versions Tessera follows, so
  // SGD requires one; AdamW defaults to 1e-3.
  std::optional<double> lr;
  double momentum = 0;      // SGD
  double dampening = 0;     // SGD
  bool nesterov = false;    // SGD
  // Unset: the optimizer's default (SGD 0, AdamW 1e-2). SGD adds wd*p to the gradient; AdamW
  // decays the weight directly (p -= lr*wd*p) before the Adam step.
  std::optional<double> weightDecay;
  double beta1 = 0.9;       // AdamW
  double beta2 = 0.999;     // AdamW
  double eps = 1e-8;        // AdamW

  double learningRate() const;  // lr or the default; valid after validate()
  double decay() const;         // weightDecay or the default
};

struct TrainStepOptions {
  OptimizerOptions optimizer;
  int accum = 1;                // micro-batches per step
  std::optional<double> clip;   // max global gradient norm
  // Each parameter's update runs as soon as its gradient is final (EarlyUpdates.h): lower peak
  // memory, less room to overlap gradient all-reduces.
  bool earlyUpdates = false;
  std::string forward = "main";     // the forward function; its result 0 is the loss
  std::string name = "train_step";  // the function to create
};

const char* optimizerName(OptimizerKind k);  // "sgd", "adamw"
// "sgd" or "adamw" (case-insensitive); an error lists the accepted names.
StatusOr<OptimizerKind> parseOptimizer(std::string_view name);

// Sets one option by its pipeline name: optimizer, lr, momentum, dampening, nesterov,
// weight_decay, beta1, beta2, eps, accum, clip, early_updates. Errors name the key and the bad value.
Status setTrainStepOption(TrainStepOptions& o, std::string_view key, std::string_view value);
// The option keys setTrainStepOption accepts, comma-separated, for messages.
const char* trainStepOptionKeys();

// How options are named in messages: pipeline keys (`weight_decay`) or CLI flags
// (`--weight-decay`).
enum class OptionNames { Pipeline, Flags };

// Checks ranges and combinations the way torch.optim does (lr >= 0, 0 <= beta < 1, Nesterov
// needs momentum > 0 and no dampening, ...) plus accum >= 1 and clip > 0; errors name the option.
Status validate(const TrainStepOptions& o, OptionNames names = OptionNames::Pipeline);

}  // namespace tessera::passes
