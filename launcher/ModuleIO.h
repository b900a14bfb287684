// Reading and writing whole modules for the CLI, in either form.
//
// The form is chosen by the file name, never guessed from the bytes: `.tir` is the text form,
// `.tpb` or `.pb` the binary protobuf form, and `-` means text on standard input. Any other
// extension is an error that says what is accepted. Writes are atomic (FileUtil.h).
#pragma once

#include <memory>
#include <string>

#include "ir/Module.h"

namespace tessera::launcher {

enum class ModuleFormat { Text, Proto };

// The form a path denotes by its extension, or an error naming the path and the accepted ones.
StatusOr<ModuleFormat> formatOfPath(const std::string& path);

// Reads `path` (or standard input for "-"). Parse errors are located in the file.
StatusOr<std::unique_ptr<ir::Module>> readModule(const std::string& path);
// Parses text that came from `filename` (for errors and --split-input-file chunks).
StatusOr<std::unique_ptr<ir::Module>> parseModuleText(const std::string& text,
                                                      const std::string& filename);

// The bytes of `m` in the given form.
StatusOr<std::string> encodeModule(const ir::Module& m, ModuleFormat format);

}  // namespace tessera::launcher
