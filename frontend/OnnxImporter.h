// Imports an ONNX model (opset 13 to 17) into a Tessera module: float initializers become
// trainable parameters, integer initializers constants, `dim_param` dims symbols; shape
// sub-graphs are folded. The file is untrusted: sizes are bounded, raw_data lengths checked
// against dims (overflow-safe), external-data paths confined to the model's folder. An
// unsupported model gets one error listing every unsupported op type with its node names.
#pragma once

#include <memory>
#include <string>

#include "ir/Module.h"

namespace tessera::frontend {

StatusOr<std::unique_ptr<ir::Module>> importOnnx(const std::string& path);

}  // namespace tessera::frontend
