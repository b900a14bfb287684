// One thread per rank through the reference interpreter with simulated collectives; see
// InProcessExecutor.h.
#include "partition/exec/InProcessExecutor.h"

#include <memory>
#include <thread>

#include "ir/Interpreter.h"
#include "partition/exec/Shards.h"
#include "partition/exec/SimulatedCollectives.h"

namespace tessera::partition {

StatusOr<std::vector<std::vector<ir::Tensor>>> runRanks(
    const ir::Mesh& mesh, const std::vector<const ir::Function*>& programs,
    const std::vector<std::vector<ir::Tensor>>& inputs, ExecutorOptions options) {
  const int64_t n = mesh.numDevices();
  if (static_cast<int64_t>(programs.size()) != n || static_cast<int64_t>(inputs.size()) != n)
    return Status::error("the mesh @" + mesh.name + " has " + std::to_string(n) + " devices but " +
                         std::to_string(programs.size()) + " programs and " +
                         std::to_string(inputs.size()) + " input lists were given");
  Rendezvous rv(options.timeout);
  std::vector<std::unique_ptr<SimulatedRank>> ranks;
  for (int64_t r = 0; r < n; ++r) ranks.push_back(std::make_unique<SimulatedRank>(mesh, r, rv));
  std::vector<Status> status(n);
  std::vector<std::vector<ir::Tensor>> outputs(n);
  std::vector<std::thread> threads;
  for (int64_t r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      StatusOr<ir::InterpretResult> res = ir::interpret(*programs[r], inputs[r], *ranks[r]);
      if (!res.isOk()) {
        status[r] = res.status();
        rv.abort("rank " + std::to_string(r) + " failed: " + res.status().message());
        return;
      }
      outputs[r] = std::move(res->outputs);
    });
  for (auto& t : threads) t.join();
  // The root cause first: a rank that failed on its own, not one stopped by another's failure.
  for (int64_t r = 0; r < n; ++r)
    if (!status[r].isOk() && status[r].message().find("stopped because") == std::string::npos)
      return Status::error("rank " + std::to_string(r) + ": " + status[r].message());
  for (int64_t r = 0; r < n; ++r)
    if (!status[r].isOk()) return Status::error("rank " + std::to_string(r) + ": " + status[r].message());
  return outputs;
}

StatusOr<std::vector<ir::Tensor>> runSpmd(const SpmdProgram& program,
                                          const std::vector<ir::Tensor>& globalInputs,
                                          ExecutorOptions options) {
  const ir::Mesh& mesh = *program.mesh;
  const int64_t n = mesh.numDevices();
  if (globalInputs.size() != program.argShardings.size())
    return Status::error("@" + program.local->name() + " takes " +
                         std::to_string(program.argShardings.size()) + " arguments, " +
                         std::to_string(globalInputs.size()) + " were given");
  std::vector<std::vector<ir::Tensor>> inputs(n);
  for (int64_t r = 0; r < n; ++r)
    for (size_t i = 0; i < globalInputs.size(); ++i)
      inputs[r].push_back(shardOf(globalInputs[i], mesh, program.argShardings[i], r));
  std::vector<const ir::Function*> programs(n, program.local);
  TRY_ASSIGN(auto perRank, runRanks(mesh, programs, inputs, options));

  // Global shapes of the results from the symbols the global inputs bind: evaluate the global
  // function's result types with the symbols rank 0 saw (the local function binds the same ones).
  std::vector<ir::Tensor> out;
  for (size_t k = 0; k < program.resultShardings.size(); ++k) {
    std::vector<ir::Tensor> pieces;
    for (int64_t r = 0; r < n; ++r) pieces.push_back(perRank[r][k]);
    // Each dim's global extent: local extent times the split (exact for symbols, an upper bound
    // for padded constants, which the declared global type gives back).
    const ir::TensorType& gt = program.globalResultTypes[k];
    std::vector<int64_t> shape;
    for (int d = 0; d < gt.rank(); ++d) {
      if (auto c = gt.shape[d].constant()) {
        shape.push_back(*c);
        continue;
      }
      int64_t split = 1;
      for (const std::string& a : program.resultShardings[k].dims[d].axes) split *= *mesh.axisSize(a);
      shape.push_back(pieces[0].shape()[d] * split);
    }
    TRY_ASSIGN(ir::Tensor t, assemble(pieces, mesh, program.resultShardings[k], shape));
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace tessera::partition
