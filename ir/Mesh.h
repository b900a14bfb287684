// Device meshes: named axes with sizes and a device order, and sub-meshes.
//
// `mesh @m = <dp=2, tp=4>` has 8 devices; device order maps a mesh coordinate (row-major over
// the axes) to a global device id, identity unless given (`devices=[...]`). A sub-mesh fixes some
// axes of a parent to one index (`mesh @stage0 = @m[pp=0]`): pipeline stages are sub-meshes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/Status.h"

namespace tessera::ir {

struct MeshAxis {
  std::string name;
  int64_t size = 1;
  bool operator==(const MeshAxis&) const = default;
};

class Mesh {
 public:
  std::string name;
  std::vector<MeshAxis> axes;
  std::vector<int64_t> devices;  // global device id of each coordinate, row-major; size = numDevices
  // For a sub-mesh: the parent's name and the parent axes fixed to one index. Its `axes` are the
  // parent's remaining axes and its `devices` the parent's devices at that slice.
  std::string parent;
  std::vector<std::pair<std::string, int64_t>> fixed;
  Location loc;

  int64_t numDevices() const;
  std::optional<int64_t> axisSize(const std::string& axis) const;
  int axisIndex(const std::string& axis) const;  // -1 if absent
  bool isSubMesh() const { return !parent.empty(); }
  bool hasDefaultDeviceOrder() const;

  // A mesh over `axes` with the identity device order.
  static Mesh make(std::string name, std::vector<MeshAxis> axes);
  // The sub-mesh of `parent` with `fixed` axes pinned; errors name the bad axis or index.
  static StatusOr<Mesh> subMesh(std::string name, const Mesh& parent,
                                std::vector<std::pair<std::string, int64_t>> fixed);
  // Checks names unique, sizes positive, devices a permutation-free list of the right length.
  Status check() const;
  bool operator==(const Mesh&) const = default;
};

}  // namespace tessera::ir
