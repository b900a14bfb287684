// NumPy .npy files as ir::Tensor: how `tessera eval` takes inputs and writes results.
//
// Reading treats the file as untrusted. Format versions 1.0, 2.0 and 3.0 are accepted, with the
// little-endian (or byte-order-free) dtypes Tessera has: <f4 <f8 <f2 <i4 <i8 |b1. Everything
// else — big-endian data, Fortran order, structured dtypes, unsigned or other types — is rejected
// with an error naming the file and the problem, e.g.
//   `x.npy: error: header: expected 'shape' key`
// as are a bad magic string, an out-of-range header length, a malformed header dict, a shape
// whose byte size overflows, and data that is shorter or longer than the shape says.
//
// Writing produces format 1.0 (2.0 only if the header needs it), padded so the data starts at a
// multiple of 64 bytes as numpy does. bf16 has no numpy dtype: a bf16 tensor is written as <f4,
// which holds every bf16 value exactly, and `tessera eval` accepts such an f32 array back for a
// bf16 argument (see EvalCommand.cpp). Files are written atomically (temp file + rename).
#pragma once

#include <string>
#include <string_view>

#include "ir/Status.h"
#include "ir/Tensor.h"

namespace tessera::launcher {

// Decodes the bytes of a .npy file; `filename` only names the file in errors.
StatusOr<ir::Tensor> parseNpy(std::string_view bytes, const std::string& filename);
StatusOr<ir::Tensor> readNpy(const std::string& path);

// The .npy bytes of `t` (bf16 encoded as <f4, see above).
std::string encodeNpy(const ir::Tensor& t);
Status writeNpy(const std::string& path, const ir::Tensor& t);

// The numpy descr a tensor of this dtype is written with ("<f4", "|b1", ...).
const char* npyDescr(ir::DType t);

}  // namespace tessera::launcher
