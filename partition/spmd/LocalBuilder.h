// LocalBuilder: appends ops to the local (per-rank) function the SPMD partitioner builds, with the
// small helpers every lowering needs — scalar constants, this device's position along mesh axes
// (axis_index), validity masks of padded shards, local slices of whole dims — so the lowering and
// resharding code reads as the algorithm, not as OpSpec plumbing.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ir/Function.h"
#include "ir/Mesh.h"

namespace tessera::partition {

using AxisNames = std::vector<std::string>;

class LocalBuilder {
 public:
  LocalBuilder(ir::Function& local, const ir::Mesh& mesh, std::string meshName)
      : f_(local), mesh_(mesh), meshName_(std::move(meshName)) {}

  ir::Function& function() { return f_; }
  const ir::Mesh& mesh() const { return mesh_; }
  int64_t groupSize(const AxisNames& axes) const;

  // Appends an op; errors carry the location of the global op being lowered.
  StatusOr<ir::Value*> emit(ir::OpKind kind, std::vector<ir::Value*> operands,
                            std::vector<std::pair<std::string, ir::AttrValue>> attrs = {},
                            std::vector<ir::TensorType> declared = {});
  // A collective over `axes` (adds the mesh attribute when the module has several meshes).
  StatusOr<ir::Value*> collective(ir::OpKind kind, ir::Value* x, const AxisNames& axes,
                                  std::vector<std::pair<std::string, ir::AttrValue>> attrs);

  StatusOr<ir::Value*> scalar(ir::DType t, double v);
  StatusOr<ir::Value*> fill(const ir::TensorType& t, double v);  // `full`
  // This device's row-major position over `axes` (i64 scalar); one op per axis list.
  StatusOr<ir::Value*> axisIndex(const AxisNames& axes);
  // Bool tensor of x's shape: true where the element's global index along `dim` (local block
  // `len` at position axisIndex(axes)) is below `globalSize`. Padded elements are false.
  StatusOr<ir::Value*> validMask(ir::Value* x, int dim, int64_t len, int64_t globalSize,
                                 const AxisNames& axes);
  // x with its padded elements along `dim` replaced by `identity` (no-op when the split is even).
  StatusOr<ir::Value*> maskPadding(ir::Value* x, int dim, const ir::Dim& globalSize,
                                   const AxisNames& axes, double identity);
  // The local block along `dim` of a value whose dim is whole (global size `globalSize`).
  StatusOr<ir::Value*> localSlice(ir::Value* x, int dim, const ir::Dim& globalSize,
                                  const AxisNames& axes);
  // Global offset (i64 scalar) of this device's block of length `len` along `axes`.
  StatusOr<ir::Value*> blockOffset(int64_t len, const AxisNames& axes);

  Location loc;  // of the global op being lowered

 private:
  ir::Function& f_;
  const ir::Mesh& mesh_;
  std::string meshName_;
  std::map<AxisNames, ir::Value*> axisIndexCache_;
};

}  // namespace tessera::partition
