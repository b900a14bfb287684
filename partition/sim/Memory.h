// Peak memory of one rank running a program, by liveness: every argument is resident for the
// whole step; an op's result occupies memory from the op that defines it to its last use (to the
// end if the function returns it); a reshape is a view of its operand (no new bytes, and it
// extends the operand's life); an elementwise result fused into its consumer
// (cost/ProgramCost.h) never exists in memory.
//
// The breakdown names what is resident at the peak. Arguments bound to a trainable module
// parameter are parameters; bound to a frozen parameter (the optimizer state the train-step pass
// adds, `<param>.m`, `<param>.v`) optimizer state; the others inputs. Intermediates whose name
// starts with `grad` are gradients, everything else activations (and temporaries).
#pragma once

#include <cstdint>
#include <vector>

#include "ir/Function.h"
#include "partition/cost/OpCost.h"

namespace tessera::partition::sim {

struct MemoryBreakdown {
  double parameters = 0;
  double optimizerState = 0;
  double inputs = 0;
  double gradients = 0;
  double activations = 0;
  double total() const { return parameters + optimizerState + inputs + gradients + activations; }
};

struct MemoryProfile {
  double peakBytes = 0;
  int peakOp = -1;             // index of the op at which the peak occurs (-1: before any op)
  MemoryBreakdown atPeak;
};

// `costs` from cost::programCosts for the same function and symbols (for the fusion decisions).
StatusOr<MemoryProfile> memoryProfile(const ir::Function& f, const cost::SymbolValues& syms,
                                      const std::vector<cost::OpCost>& costs);

}  // namespace tessera::partition::sim
