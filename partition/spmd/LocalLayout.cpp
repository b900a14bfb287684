// Local sizes of sharded dims: ceil division for constants, exact division for symbols.
#include "partition/spmd/LocalLayout.h"

#include <cassert>

namespace tessera::partition {

int64_t axesSize(const ir::Mesh& mesh, const std::vector<std::string>& axes) {
  int64_t n = 1;
  for (const std::string& a : axes) {
    std::optional<int64_t> s = mesh.axisSize(a);
    assert(s && "sharding names an axis the mesh does not have");
    n *= *s;
  }
  return n;
}

ir::Dim localDim(const ir::Dim& global, int64_t n) {
  if (n == 1) return global;
  if (auto c = global.constant()) return ir::Dim((*c + n - 1) / n);
  return global.divide(n);
}

bool isEvenSplit(const ir::Dim& global, int64_t n) {
  auto c = global.constant();
  return !c || *c % n == 0;
}

ir::TensorType localType(const ir::Mesh& mesh, const ir::TensorType& t, const ir::Sharding& s) {
  ir::TensorType out = t;
  for (int d = 0; d < t.rank() && d < static_cast<int>(s.dims.size()); ++d)
    out.shape[d] = localDim(t.shape[d], axesSize(mesh, s.dims[d].axes));
  return out;
}

}  // namespace tessera::partition
