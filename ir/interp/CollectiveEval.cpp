// The reference interpreter runs single-device programs: a collective only means something
// between ranks, so interpreting one is a clear error rather than a guess (e.g. treating
// all_reduce as the identity would hide a partitioning bug).
#include "ir/Op.h"

namespace tessera::ir {

StatusOr<std::vector<Tensor>> evalCollective(const EvalContext& ctx) {
  return Status::error(ctx.op.loc(), std::string("collective ") + ctx.op.mnemonic() +
                                         " needs the distributed runtime; the reference "
                                         "interpreter runs single-device programs only");
}

}  // namespace tessera::ir
