// The in-process runner of per-rank pipeline programs (ProgramRunner.h).
#include "partition/pipeline/ProgramRunner.h"

#include <thread>

#include "ir/Interpreter.h"
#include "ir/Op.h"
#include "ir/RankRuntime.h"
#include "partition/exec/Shards.h"
#include "partition/pipeline/Channels.h"

namespace tessera::partition::pipeline {

namespace {

std::string typeTag(ir::DType t, const std::vector<int64_t>& shape) {
  return std::string("message ") + ir::dtypeName(t) + ir::intListStr(shape);
}

class P2PRank : public ir::RankRuntime {
 public:
  P2PRank(const ir::Mesh& mesh, int64_t rank, Channels& ch) : mesh_(mesh), rank_(rank), ch_(ch) {}

  StatusOr<int64_t> coordinate(const std::string& mesh, const std::string& axis) const override {
    int i = mesh_.axisIndex(axis);
    if (i < 0) return Status::error("pipeline runtime: mesh @" + mesh_.name + " has no axis '" + axis + "'");
    return rankCoordinates(mesh_, rank_)[i];
  }

  StatusOr<std::vector<ir::Tensor>> collective(const ir::EvalContext& ctx) override {
    const ir::Op& op = ctx.op;
    if (op.kind() != ir::OpKind::Send && op.kind() != ir::OpKind::Recv)
      return ctx.error(std::string("the pipeline program runner performs only send/recv, not ") + op.mnemonic());
    std::vector<int64_t> coords = rankCoordinates(mesh_, rank_);
    const auto& axes = op.attrAs<ir::AxisList>("axes").axes;
    int64_t peer = op.intAttr("peer");
    for (size_t k = axes.size(); k-- > 0;) {
      int i = mesh_.axisIndex(axes[k]);
      if (i < 0) return ctx.error("mesh @" + mesh_.name + " has no axis '" + axes[k] + "'");
      coords[i] = peer % mesh_.axes[i].size;
      peer /= mesh_.axes[i].size;
    }
    int64_t q = 0;
    for (size_t i = 0; i < mesh_.axes.size(); ++i) q = q * mesh_.axes[i].size + coords[i];
    const std::string who = "rank " + std::to_string(rank_) + " at " + op.loc().str() + " (" + op.mnemonic() + ")";
    if (op.kind() == ir::OpKind::Send) {
      const ir::Tensor& t = *ctx.operands[0];
      ch_.send(static_cast<int>(rank_), static_cast<int>(q), typeTag(t.dtype(), t.shape()), {t});
      return std::vector<ir::Tensor>{};
    }
    return ch_.recv(static_cast<int>(q), static_cast<int>(rank_),
                    typeTag(ctx.resultDTypes[0], ctx.resultShapes[0]), who);
  }

 private:
  const ir::Mesh& mesh_;
  int64_t rank_;
  Channels& ch_;
};

}  // namespace

StatusOr<std::vector<std::vector<ir::Tensor>>> runPipelinePrograms(
    const ir::Mesh& mesh, const std::vector<const ir::Function*>& programs,
    const std::vector<std::vector<ir::Tensor>>& inputs, std::chrono::milliseconds timeout) {
  const int64_t n = mesh.numDevices();
  if (static_cast<int64_t>(programs.size()) != n || static_cast<int64_t>(inputs.size()) != n)
    return Status::error("pipeline runner: mesh @" + mesh.name + " has " + std::to_string(n) + " devices but " +
                         std::to_string(programs.size()) + " programs and " + std::to_string(inputs.size()) +
                         " input lists were given");
  Channels ch(timeout);
  std::vector<Status> status(n);
  std::vector<std::vector<ir::Tensor>> out(n);
  std::vector<std::thread> threads;
  for (int64_t r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      P2PRank rt(mesh, r, ch);
      StatusOr<ir::InterpretResult> res = ir::interpret(*programs[r], inputs[r], rt);
      if (res.isOk()) {
        out[r] = std::move(res->outputs);
      } else {
        status[r] = res.status();
        ch.abort();
      }
    });
  for (std::thread& t : threads) t.join();
  for (int pass = 0; pass < 2; ++pass)
    for (int64_t r = 0; r < n; ++r)
      if (!status[r].isOk() &&
          (pass == 1 || status[r].message().find(Channels::abortedMessage()) == std::string::npos))
        return status[r];
  return out;
}

}  // namespace tessera::partition::pipeline
