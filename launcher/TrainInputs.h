// Where `tessera train` gets the data arguments of the forward function: `--input NAME=FILE.npy`
// tensors (checked against the argument they feed, naming the flag), character-level batches for
// language models (%tokens/%targets i64[B,S]), and the tokens-per-step count for the progress
// line.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/Module.h"

namespace tessera::launcher {

struct InputSpec {
  std::string name;  // argument name, without %
  std::string file;
};

// Syntax and file existence of every `--input NAME=FILE.npy` (usage errors, naming the flag).
StatusOr<std::vector<InputSpec>> parseInputSpecs(const std::vector<std::string>& specs);

// Each spec must name a non-trainable argument of `f` (a usage error otherwise).
Status checkInputNames(const std::vector<InputSpec>& specs, const ir::Function& f,
                       const std::set<const ir::Value*>& trainable);

// Reads the .npy files and checks each against its argument's dtype, rank and constant dims;
// errors name the flag and the file (data errors). Symbolic dims are checked by the interpreter.
StatusOr<std::map<std::string, ir::Tensor>> loadInputs(const std::vector<InputSpec>& specs,
                                                       const ir::Function& f);

struct CharDataPlan {
  std::string tokensArg = "tokens", targetsArg = "targets";
  int64_t batch = 0, seq = 0;
};

// Character data for the arguments in `needData` (those with no value from anywhere else): they
// must be exactly %tokens and %targets, i64 of rank 2. `batch`/`seq` are the flags (0: not given;
// defaults: the declared dim if constant, else 4 sequences of the zoo's `seq` or 64 tokens).
// Checks that the model's vocabulary holds every byte and that --accum divides the batch.
// Errors name the flag or the argument.
StatusOr<CharDataPlan> planCharData(const ir::Function& f,
                                    const std::vector<const ir::Value*>& needData, int64_t batch,
                                    int64_t seq, const std::map<std::string, std::string>& zoo,
                                    int accum);

// Tokens per step when the data is fixed: the elements of the first integer data argument
// (labels, targets), else the leading dim of the first data argument, else 1.
int64_t tokensPerStep(const ir::Module& m, const ir::Function& f,
                      const std::map<std::string, ir::Tensor>& fixed);

// The symbol values (B, S, ...) these inputs bind: every argument dim that is a plain symbol takes
// the size of the given tensor's dim. Errors name the argument when two inputs disagree.
StatusOr<std::map<std::string, int64_t>> symbolsFromInputs(
    const ir::Function& f, const std::map<std::string, ir::Tensor>& inputs);

}  // namespace tessera::launcher
