// Mesh descriptions and per-axis communicators.
//
// A mesh names its axes and their sizes, e.g. dp=2 x tp=2, with devices in row-major order:
// world rank = sum_i coord_i * stride_i, the last axis varying fastest. A collective "over tp" runs
// among the ranks that share every other coordinate; splitForAxes builds that communicator (one
// MPI_Comm_split / ncclCommSplit). comm/ keeps its own plain description so it needs no ir/; the
// launcher converts the plan's mesh into one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "comm/Communicator.h"
#include "comm/Status.h"

namespace tessera::comm {

struct MeshAxis {
  std::string name;
  int size = 0;
};

struct MeshDesc {
  std::vector<MeshAxis> axes;

  // Product of the axis sizes (1 for no axes).
  long long deviceCount() const;
  // "dp=2,tp=2"
  std::string str() const;
};

// Parses "dp=2,tp=2" (names: letters, digits, '_'; sizes > 0).
StatusOr<MeshDesc> parseMesh(const std::string& text);

// The mesh is usable on `worldSize` ranks: axis names non-empty and distinct, sizes > 0, and the
// product equals the rank count.
Status validateMesh(const MeshDesc& mesh, int worldSize);

// Coordinates of `rank` in the mesh, one per axis.
std::vector<int> meshCoords(const MeshDesc& mesh, int rank);

// How a rank splits off the communicator of an axis set: `color` identifies the group (the rank's
// coordinates on the other axes, row-major), `key` orders ranks inside it (row-major over `axes` in
// the order given: for {"dp","tp"} the last listed axis varies fastest).
struct AxisGroup {
  int color = 0;
  int key = 0;
  int groupSize = 0;
};
StatusOr<AxisGroup> axisGroup(const MeshDesc& mesh, const std::vector<std::string>& axes, int rank);

// Collective over `world` (every rank calls it with the same arguments): the communicator among the
// ranks that differ only in `axes`, named "a,b". `world` must span the whole mesh.
StatusOr<std::unique_ptr<Communicator>> splitForAxes(Communicator& world, const MeshDesc& mesh,
                                                     const std::vector<std::string>& axes);

}  // namespace tessera::comm
