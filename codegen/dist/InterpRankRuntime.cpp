// makeRankRuntime (RankContext.h): the reference interpreter's RankRuntime over a RankContext, so
// `--engine=interp` runs one rank of an SPMD program under MPI with the very collectives the
// compiled engine runs (CollectiveCall): operands are packed into host buffers, the collective
// runs blocking, and the results come back as tensors.
#include <cstdlib>

#include "codegen/dist/CollectiveCall.h"
#include "codegen/dist/RankContext.h"
#include "codegen/runtime/TensorIO.h"

namespace tessera::codegen {

namespace {

// Packed storage of one tensor (aligned for every element type).
struct Packed {
  std::vector<uint64_t> words;
  HostArray array;
  Packed(ir::DType t, std::vector<int64_t> shape) {
    int64_t bytes = ir::numElementsOf(shape) * ir::dtypeBytes(t);
    words.assign(static_cast<size_t>((bytes + 7) / 8 + 1), 0);
    array = HostArray{words.data(), t, std::move(shape)};
  }
};

class MpiRankRuntime : public ir::RankRuntime {
 public:
  explicit MpiRankRuntime(RankContext& rank) : rank_(rank) {}

  StatusOr<int64_t> coordinate(const std::string& mesh, const std::string& axis) const override {
    if (!mesh.empty() && mesh != rank_.mesh().name)
      return Status::error("rank " + std::to_string(rank_.worldRank()) + " runs on mesh @" +
                           rank_.mesh().name + ", not @" + mesh);
    return rank_.position({axis});
  }

  StatusOr<std::vector<ir::Tensor>> collective(const ir::EvalContext& ctx) override {
    std::vector<Packed> in, out;
    in.reserve(ctx.operands.size());
    out.reserve(ctx.resultShapes.size());
    std::vector<HostArray> operands, results;
    for (const ir::Tensor* t : ctx.operands) {
      in.emplace_back(t->dtype(), t->shape());
      tensorToBuffer(*t, in.back().array.data);
      operands.push_back(in.back().array);
    }
    for (size_t r = 0; r < ctx.resultShapes.size(); ++r) {
      out.emplace_back(ctx.resultDTypes[r], ctx.resultShapes[r]);
      results.push_back(out.back().array);
    }
    CollectiveCall call;
    TRY(call.start(rank_, ctx.op, operands, results));
    TRY(call.finish());
    std::vector<ir::Tensor> tensors;
    for (const HostArray& a : results) tensors.push_back(bufferToTensor(a.data, a.dtype, a.shape));
    return tensors;
  }

 private:
  RankContext& rank_;
};

}  // namespace

std::unique_ptr<ir::RankRuntime> makeRankRuntime(RankContext& rank) {
  return std::make_unique<MpiRankRuntime>(rank);
}

}  // namespace tessera::codegen
