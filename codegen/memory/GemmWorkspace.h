// The GEMM workspace of a step, planned before running: the bytes the own sgemm's packing
// buffers (codegen/runtime/gemm/Workspace.h) will hold once the engine has run every GEMM thunk
// of the executable at these symbol values on `threads` pool threads with the process's GEMM
// backend (defaultGemmBackend). The memory report adds it to the workspace category and to the
// planned peak; the runtime's measured side is what its PackingWorkspace really holds
// (CpuRuntime::packingBytesHeld), so the two agree to the byte after a step.
//
// The buffers live as long as the engine (kept for reuse, never freed between thunks), so they
// add to every thunk's live bytes, not only to the peak's.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "codegen/exec/Executable.h"
#include "ir/Status.h"

namespace tessera::codegen {

// An error names a symbol a GEMM dimension needs and `symbols` lacks.
StatusOr<int64_t> plannedGemmWorkspaceBytes(const Executable& exe,
                                            const std::map<std::string, int64_t>& symbols,
                                            int threads);

}  // namespace tessera::codegen
