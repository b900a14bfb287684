// Slicing global tensors into per-rank pieces and putting them back; see Shards.h.
#include "partition/exec/Shards.h"

#include <cassert>
#include <limits>
#include <set>

namespace tessera::partition {

std::vector<int64_t> rankCoordinates(const ir::Mesh& mesh, int64_t rank) {
  std::vector<int64_t> c(mesh.axes.size());
  for (int i = static_cast<int>(mesh.axes.size()) - 1; i >= 0; --i) {
    c[i] = rank % mesh.axes[i].size;
    rank /= mesh.axes[i].size;
  }
  return c;
}

int64_t groupPosition(const ir::Mesh& mesh, const std::vector<int64_t>& coords,
                      const std::vector<std::string>& axes) {
  int64_t p = 0;
  for (const std::string& a : axes) {
    int i = mesh.axisIndex(a);
    assert(i >= 0);
    p = p * mesh.axes[i].size + coords[i];
  }
  return p;
}

int64_t rankOf(const ir::Mesh& mesh, const std::vector<int64_t>& coords) {
  int64_t q = 0;
  for (size_t i = 0; i < mesh.axes.size(); ++i) q = q * mesh.axes[i].size + coords[i];
  return q;
}

int64_t groupMember(const ir::Mesh& mesh, int64_t rank, const std::vector<std::string>& axes,
                    int64_t position) {
  std::vector<int64_t> coords = rankCoordinates(mesh, rank);
  for (size_t k = axes.size(); k-- > 0;) {
    int i = mesh.axisIndex(axes[k]);
    assert(i >= 0);
    coords[i] = position % mesh.axes[i].size;
    position /= mesh.axes[i].size;
  }
  return rankOf(mesh, coords);
}

namespace {

int64_t sizeOf(const ir::Mesh& mesh, const std::vector<std::string>& axes) {
  int64_t n = 1;
  for (const std::string& a : axes) n *= *mesh.axisSize(a);
  return n;
}

// For each dim: this rank's first global row and local length.
struct Block {
  std::vector<int64_t> start, len;
};

Block blockOf(const std::vector<int64_t>& globalShape, const ir::Mesh& mesh, const ir::Sharding& s,
              const std::vector<int64_t>& coords) {
  Block b;
  for (size_t d = 0; d < globalShape.size(); ++d) {
    std::vector<std::string> axes = d < s.dims.size() ? s.dims[d].axes : std::vector<std::string>{};
    int64_t n = sizeOf(mesh, axes);
    int64_t L = (globalShape[d] + n - 1) / n;
    b.start.push_back(groupPosition(mesh, coords, axes) * L);
    b.len.push_back(L);
  }
  return b;
}

// Calls fn(localFlat, globalFlat or -1 for padding) for every element of the local block.
template <typename Fn>
void forEachElement(const std::vector<int64_t>& globalShape, const Block& b, Fn fn) {
  const size_t r = globalShape.size();
  int64_t total = 1;
  for (int64_t l : b.len) total *= l;
  std::vector<int64_t> idx(r, 0);
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t g = 0;
    bool inside = true;
    for (size_t d = 0; d < r; ++d) {
      int64_t gi = b.start[d] + idx[d];
      if (gi >= globalShape[d]) inside = false;
      g = g * globalShape[d] + gi;
    }
    fn(flat, inside ? g : -1);
    for (int d = static_cast<int>(r) - 1; d >= 0; --d) {
      if (++idx[d] < b.len[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace

ir::Tensor shardOf(const ir::Tensor& global, const ir::Mesh& mesh, const ir::Sharding& s,
                   int64_t rank) {
  std::vector<int64_t> coords = rankCoordinates(mesh, rank);
  Block b = blockOf(global.shape(), mesh, s, coords);
  ir::Tensor out(global.dtype(), b.len);
  bool holder = true;
  for (const auto& [axis, kind] : s.partial)
    if (coords[mesh.axisIndex(axis)] != 0) holder = false;
  if (!holder) return out;
  forEachElement(global.shape(), b, [&](int64_t l, int64_t g) {
    if (g >= 0) out.set(l, global[g]);
  });
  return out;
}

StatusOr<ir::Tensor> assemble(const std::vector<ir::Tensor>& pieces, const ir::Mesh& mesh,
                              const ir::Sharding& s, const std::vector<int64_t>& globalShape) {
  if (static_cast<int64_t>(pieces.size()) != mesh.numDevices())
    return Status::error("assemble: " + std::to_string(pieces.size()) + " pieces for a mesh of " +
                         std::to_string(mesh.numDevices()) + " devices");
  std::set<std::string> used;
  for (const auto& d : s.dims) used.insert(d.axes.begin(), d.axes.end());
  bool isMax = false;
  for (const auto& [a, k] : s.partial) {
    used.insert(a);
    isMax = isMax || k == ir::PartialKind::Max;
  }
  const ir::DType dt = pieces[0].dtype();
  std::vector<double> acc(ir::numElementsOf(globalShape),
                          isMax ? -std::numeric_limits<double>::infinity() : 0.0);
  for (int64_t r = 0; r < mesh.numDevices(); ++r) {
    std::vector<int64_t> coords = rankCoordinates(mesh, r);
    bool representative = true;  // coordinate 0 on every replicated axis
    for (size_t i = 0; i < mesh.axes.size(); ++i)
      if (!used.count(mesh.axes[i].name) && coords[i] != 0) representative = false;
    if (!representative) continue;
    Block b = blockOf(globalShape, mesh, s, coords);
    if (pieces[r].shape() != b.len)
      return Status::error("assemble: rank " + std::to_string(r) + " holds " +
                           pieces[r].shapeStr() + ", its block is " + ir::intListStr(b.len));
    forEachElement(globalShape, b, [&](int64_t l, int64_t g) {
      if (g < 0) return;
      if (s.partial.empty()) acc[g] = pieces[r][l];
      else if (isMax) acc[g] = std::max(acc[g], pieces[r][l]);
      else acc[g] += pieces[r][l];
    });
  }
  return ir::Tensor(dt, globalShape, std::move(acc));
}

}  // namespace tessera::partition
