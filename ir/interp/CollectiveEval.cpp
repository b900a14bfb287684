// The reference interpreter runs single-device programs: a collective only means something
// between ranks, so interpreting one without a rank runtime (ir/RankRuntime.h) is a clear error
// rather than a guess (e.g. treating all_reduce as the identity would hide a partitioning bug).
// With a runtime (a multi-rank executor), collectives and axis_index are delegated to it.
#include "ir/Function.h"
#include "ir/Module.h"
#include "ir/Op.h"
#include "ir/RankRuntime.h"

namespace tessera::ir {

StatusOr<std::vector<Tensor>> evalCollective(const EvalContext& ctx) {
  if (ctx.runtime) return ctx.runtime->collective(ctx);
  return Status::error(ctx.op.loc(), std::string("collective ") + ctx.op.mnemonic() +
                                         " needs the distributed runtime; the reference "
                                         "interpreter runs single-device programs only");
}

// Row-major position over the listed axes: sum of coordinate(a) * (product of later axes' sizes).
StatusOr<std::vector<Tensor>> evalAxisIndex(const EvalContext& ctx) {
  if (!ctx.runtime)
    return ctx.error("needs the distributed runtime; the reference interpreter runs "
                     "single-device programs only");
  std::string meshName;
  if (const AttrValue* ref = ctx.op.attr("mesh")) meshName = std::get<MeshRef>(*ref).name;
  const Module* module = ctx.op.function() ? ctx.op.function()->module() : nullptr;
  const Mesh* mesh = !module ? nullptr
                     : meshName.empty() ? module->defaultMesh()
                                        : module->findMesh(meshName);
  if (!mesh) return ctx.error("cannot find the mesh of this op");
  int64_t position = 0;
  for (const std::string& a : ctx.op.attrAs<AxisList>("axes").axes) {
    std::optional<int64_t> size = mesh->axisSize(a);
    if (!size) return ctx.error("mesh @" + mesh->name + " has no axis '" + a + "'");
    TRY_ASSIGN(int64_t c, ctx.runtime->coordinate(meshName, a));
    position = position * *size + c;
  }
  return std::vector<Tensor>{Tensor::scalar(DType::I64, static_cast<double>(position))};
}

}  // namespace tessera::ir
