// The Executable's protobuf form (schema: codegen/exec/executable.proto), so a per-device program
// can be compiled once and shipped to ranks. Reading treats the bytes as untrusted: every index,
// enumeration and kernel is checked, and an error names the field, e.g.
// `step.tex: thunks[3].views[1].buffer: no buffer 99`.
#pragma once

#include <string>
#include <string_view>

#include "codegen/exec/Executable.h"

namespace tessera::codegen {

StatusOr<std::string> serializeExecutable(const Executable& exe);
// The result owns its module (Executable::ownedModule).
StatusOr<Executable> deserializeExecutable(std::string_view bytes, const std::string& filename);

}  // namespace tessera::codegen
