// RankRuntime: what the interpreter needs to run one rank of a partitioned (SPMD) program — this
// device's coordinate along each mesh axis (for axis_index) and a way to perform a collective with
// the other ranks. The reference interpreter stays single-device: without a runtime, collectives
// and axis_index are clear errors. The in-process multi-rank executor (partition/exec/) and later
// the MPI runtime implement this interface; the IR only declares it, so ir/ depends on nothing.
#pragma once

#include <string>
#include <vector>

#include "ir/OpRules.h"
#include "ir/Status.h"
#include "ir/Tensor.h"

namespace tessera::ir {

class RankRuntime {
 public:
  virtual ~RankRuntime() = default;
  // This device's coordinate along mesh axis `axis` of mesh `mesh` (empty: the module's only mesh);
  // an error if the runtime does not know the axis.
  virtual StatusOr<int64_t> coordinate(const std::string& mesh, const std::string& axis) const = 0;
  // Performs the collective op of `ctx` (its kind, attributes, operand tensors and result shapes)
  // together with the other ranks of its group and returns its results.
  virtual StatusOr<std::vector<Tensor>> collective(const EvalContext& ctx) = 0;
};

}  // namespace tessera::ir
