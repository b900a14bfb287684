// Whole-file reads and atomic writes for the CLI.
//
// Every file the CLI writes (-o, --output-dir results) goes through writeFileAtomically: the
// bytes go to a temporary file in the same directory, which is then renamed over the target, so
// an error or a crash midway never leaves a half-written file behind (rename within a directory
// is atomic on POSIX file systems).
#pragma once

#include <string>
#include <string_view>

#include "ir/Status.h"

namespace tessera::launcher {

// Errors name the path and the system's reason, e.g. `x.tir: error: cannot open: No such file`.
StatusOr<std::string> readFile(const std::string& path);
Status writeFileAtomically(const std::string& path, std::string_view bytes);
bool fileExists(const std::string& path);

}  // namespace tessera::launcher
