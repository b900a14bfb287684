// The async schedule of collectives: each collective thunk of a lowered Executable becomes a
// start thunk, placed right after the last thunk that writes its operand, and a done thunk, placed
// just before the first thunk that touches its result (or overwrites its operand), so the
// communication runs while the compute in between does. Both thunks carry all the op's views,
// so the buffer plan keeps the operand and the result alive from start to done; the runtime tells
// them apart by order (CollectiveRunner.h: an op's first thunk starts, its second finishes).
//
// Left blocking where they are: send/recv (point to point, whose pairing between ranks the
// program's order defines; nothing moves across them either), axis_index (no communication), and
// a collective whose result is a function result (it may be planned over an argument's storage,
// which other thunks may still read before the done).
//
// Starts keep the collectives' relative order (dones may complete in any order), so every rank —
// all run the same thunk list — starts the same collectives in the same order on every
// communicator, as MPI requires of nonblocking collectives.
#pragma once

#include "codegen/exec/Executable.h"

namespace tessera::codegen {

// Rewrites exe.thunks in place. Returns how many collectives were split.
int scheduleAsyncCollectives(Executable& exe);

}  // namespace tessera::codegen
