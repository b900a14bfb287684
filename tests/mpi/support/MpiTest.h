// Shared state of a multi-rank test executable: the world communicator its main() created.
//
// Every test in tests/mpi/<name>/ with an NP file runs on all ranks of one mpirun job (see
// tests/mpi/CMakeLists.txt); tests use world() and issue the same collectives in the same order on
// every rank. Expected values are computed on each rank from a formula of (rank, index), so every
// rank knows every other rank's input without communicating.
#pragma once

#include "comm/Communicator.h"

namespace tessera::comm::testing_support {

Communicator& world();

}  // namespace tessera::comm::testing_support
