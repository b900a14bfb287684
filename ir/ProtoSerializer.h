// The binary protobuf form of a module (schema: ir/proto/tessera.proto), parameters' initial
// values included. Reading treats the bytes as untrusted: a parse failure or any inconsistency
// (unknown op, bad value reference, data length not matching the type) is an error naming the
// file and the field path, e.g. `m.tpb: functions[0].ops[3].operands[1]: no value with id 99`.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ir/Module.h"

namespace tessera::ir {

StatusOr<std::string> serializeModule(const Module& m);
StatusOr<std::unique_ptr<Module>> deserializeModule(std::string_view bytes,
                                                    const std::string& filename);

}  // namespace tessera::ir
