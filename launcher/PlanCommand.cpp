// `tessera plan MODEL --mesh dp=2,tp=2 [--parallel ...] -o plan.tpb`: compile a distributed
// training plan (DistributedTrain.h, PlanFile.h) for `mpirun -np N tessera run plan.tpb`.
//
// The command takes every model and optimizer flag of `tessera train`, so it is train's command
// class in plan mode (TrainCommand.cpp); this file registers it and is where plan-only modes
// (e.g. an automatic planner) hook in: wrap add() to declare their flags and run() to take over
// when those flags are given.
#include "launcher/Commands.h"

namespace tessera::launcher {

std::unique_ptr<Command> makeTrainFlagsPlanCommand();  // TrainCommand.cpp

std::unique_ptr<Command> makePlanCommand() { return makeTrainFlagsPlanCommand(); }

}  // namespace tessera::launcher
