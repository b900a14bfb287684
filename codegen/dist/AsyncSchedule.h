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
// Starts move up past other collectives: the program lists the gradient all_reduces in parameter
// order, but backward produces the gradients in reverse, and each must start as soon as its own
// gradient exists. Any order is fine for MPI as long as every rank issues the same one — and all
// ranks run the same thunk list. A done waits only for collectives every rank has started before
// reaching it, so the schedule cannot deadlock.
#pragma once

#include "codegen/exec/Executable.h"

namespace tessera::codegen {

// Rewrites exe.thunks in place. Returns how many collectives were split.
int scheduleAsyncCollectives(Executable& exe);

}  // namespace tessera::codegen
