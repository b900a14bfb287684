// Starting `mpirun` from `tessera train -np N`: finds mpirun, adds what Open MPI needs on this
// machine (--oversubscribe when N exceeds the cores; OMPI_ALLOW_RUN_AS_ROOT=1 and
// OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 when running as root; OPENBLAS_NUM_THREADS=1: ranks compute
// single-threaded), runs `mpirun -np N <this tessera> ARGS...` and waits for it. The job's
// output goes straight to ours.
#pragma once

#include <string>
#include <vector>

#include "ir/Status.h"

namespace tessera::launcher {

// The path of the running executable (/proc/self/exe), to run the same tessera on every rank.
StatusOr<std::string> thisExecutable();

// The mpirun command line for `np` ranks running `program args...` (without the environment).
std::vector<std::string> mpirunCommand(const std::string& mpirun, int np,
                                       const std::string& program,
                                       const std::vector<std::string>& args);

// Runs mpirun and returns its exit status (128 + signal when it was killed). Errors: no mpirun on
// PATH (or in TESSERA_MPIRUN), the process cannot be started.
StatusOr<int> runMpirun(int np, const std::string& program, const std::vector<std::string>& args);

}  // namespace tessera::launcher
