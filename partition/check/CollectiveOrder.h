// The collective ordering check (SHARDING.md §7): before anything runs, prove that every rank
// issues the same sequence of collectives on every communicator — same kind, axes, operand and
// result types (shape and dtype) and attributes (reduce op, dims, root, pairs) — or reject the
// plan with the first mismatch: the communicator, the position in its sequence, both ranks and
// both ops with their locations. A plan that fails here could hang or silently mix data.
//
// A communicator is a group of ranks that differ only along a list of mesh axes; each rank has
// one per axis list it uses. For SPMD every rank runs one program and the check is about
// communicators agreeing; with pipelines each stage has its own program and it is the real proof.
#pragma once

#include <string>
#include <vector>

#include "ir/Function.h"
#include "ir/Mesh.h"

namespace tessera::partition {

// The text compared for one collective op: "all_reduce f32[B/2,64] -> f32[B/2,64] axes=[tp] op=sum".
std::string collectiveSignature(const ir::Op& op);

// programs[r] is the program rank r runs (row-major mesh coordinates); OK if every communicator's
// members agree and the programs cannot hang (PointToPoint.h: send/recv paired per link, every
// rank's communication run with blocking semantics), else the first mismatch or the stuck ranks.
Status checkCollectiveOrder(const ir::Mesh& mesh, const std::vector<const ir::Function*>& programs);

}  // namespace tessera::partition
