// Shards of global tensors: the piece of a global tensor a rank holds under a sharding, and the
// global tensor put back together from every rank's piece. The in-process executor uses them to
// give each rank its inputs and to assemble results; tests use them to compare with one device.
//
// Ranks are mesh coordinates in row-major order over the mesh axes. A dim split over axes A (row-
// major position p over A, local length L = ceil(D/n)) holds global rows [p*L, p*L + L); rows past
// D are padding (zeros when sharded here). A value partial over axes P is the sum (or max) of the
// pieces of the ranks that differ only along P.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/Mesh.h"
#include "ir/Sharding.h"
#include "ir/Tensor.h"

namespace tessera::partition {

// Mesh coordinates of rank r (row-major over mesh.axes).
std::vector<int64_t> rankCoordinates(const ir::Mesh& mesh, int64_t rank);
// Row-major position of the coordinates `coords` over `axes`.
int64_t groupPosition(const ir::Mesh& mesh, const std::vector<int64_t>& coords,
                      const std::vector<std::string>& axes);

// The rank with coordinates `coords` (row-major over mesh.axes).
int64_t rankOf(const ir::Mesh& mesh, const std::vector<int64_t>& coords);
// The rank at row-major position `position` of the group along `axes` that rank `rank` belongs
// to (its coordinates on the other axes kept): the peer of a send/recv.
int64_t groupMember(const ir::Mesh& mesh, int64_t rank, const std::vector<std::string>& axes,
                    int64_t position);

// The piece of `global` rank `rank` holds under `s` (partial: position 0 of the partial axes holds
// the value, the others zeros).
ir::Tensor shardOf(const ir::Tensor& global, const ir::Mesh& mesh, const ir::Sharding& s,
                   int64_t rank);
// The global tensor of shape `globalShape` from every rank's piece (pieces[r] of rank r).
StatusOr<ir::Tensor> assemble(const std::vector<ir::Tensor>& pieces, const ir::Mesh& mesh,
                              const ir::Sharding& s, const std::vector<int64_t>& globalShape);

}  // namespace tessera::partition
