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

namespace {

// Global result k of `program` from pieces[r] (every rank of the mesh holds a piece of it).
StatusOr<ir::Tensor> globalResult(const SpmdProgram& program, size_t k,
                                  const std::vector<ir::Tensor>& pieces) {
  const ir::Mesh& mesh = *program.mesh;
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
  return assemble(pieces, mesh, program.resultShardings[k], shape);
}

}  // namespace

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
  std::vector<ir::Tensor> out;
  for (size_t k = 0; k < program.resultShardings.size(); ++k) {
    std::vector<ir::Tensor> pieces;
    for (int64_t r = 0; r < n; ++r) pieces.push_back(perRank[r][k]);
    TRY_ASSIGN(ir::Tensor t, globalResult(program, k, pieces));
    out.push_back(std::move(t));
  }
  return out;
}

StatusOr<std::vector<std::vector<ir::Tensor>>> runSpmdPrograms(
    const std::vector<SpmdProgram>& programs, const std::string& axis,
    const std::vector<std::vector<ir::Tensor>>& globalInputs, ExecutorOptions options) {
  if (programs.empty()) return Status::error("runSpmdPrograms: no programs");
  const ir::Mesh& mesh = *programs[0].mesh;
  const int a = mesh.axisIndex(axis);
  if (a < 0) return Status::error("mesh @" + mesh.name + " has no axis '" + axis + "'");
  if (mesh.axes[a].size != static_cast<int64_t>(programs.size()) || globalInputs.size() != programs.size())
    return Status::error("axis '" + axis + "' of mesh @" + mesh.name + " has size " +
                         std::to_string(mesh.axes[a].size) + " but " + std::to_string(programs.size()) +
                         " programs and " + std::to_string(globalInputs.size()) + " input lists were given");
  for (size_t i = 0; i < programs.size(); ++i)
    if (globalInputs[i].size() != programs[i].argShardings.size())
      return Status::error("@" + programs[i].local->name() + " takes " +
                           std::to_string(programs[i].argShardings.size()) + " arguments, " +
                           std::to_string(globalInputs[i].size()) + " were given");
  const int64_t n = mesh.numDevices();
  std::vector<const ir::Function*> fns;
  std::vector<std::vector<ir::Tensor>> inputs(n);
  for (int64_t r = 0; r < n; ++r) {
    const size_t i = static_cast<size_t>(rankCoordinates(mesh, r)[a]);
    fns.push_back(programs[i].local);
    for (size_t k = 0; k < globalInputs[i].size(); ++k)
      inputs[r].push_back(shardOf(globalInputs[i][k], mesh, programs[i].argShardings[k], r));
  }
  TRY_ASSIGN(auto perRank, runRanks(mesh, fns, inputs, options));
  // Program i's result from the ranks running it: every rank r of the mesh stands in with the
  // piece of its counterpart at coordinate i on `axis` (assemble reads one rank per piece).
  std::vector<std::vector<ir::Tensor>> out(programs.size());
  for (size_t i = 0; i < programs.size(); ++i)
    for (size_t k = 0; k < programs[i].resultShardings.size(); ++k) {
      std::vector<ir::Tensor> pieces;
      for (int64_t r = 0; r < n; ++r) {
        std::vector<int64_t> c = rankCoordinates(mesh, r);
        c[a] = static_cast<int64_t>(i);
        pieces.push_back(perRank[rankOf(mesh, c)][k]);
      }
      TRY_ASSIGN(ir::Tensor t, globalResult(programs[i], k, pieces));
      out[i].push_back(std::move(t));
    }
  return out;
}

}  // namespace tessera::partition
