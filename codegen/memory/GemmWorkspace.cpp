// Planning the own sgemm's packing workspace from the GEMM thunks (GemmWorkspace.h).
#include "codegen/memory/GemmWorkspace.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "codegen/runtime/GemmRunner.h"

namespace tessera::codegen {

namespace {
StatusOr<int64_t> eval(const ir::Dim& d, const std::map<std::string, int64_t>& symbols) {
  if (std::optional<int64_t> c = d.constant()) return *c;
  return d.evaluate(symbols);
}
}  // namespace

int poolThreadsFor(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(threads, 1, 0xFFFF);
}

StatusOr<int64_t> plannedGemmWorkspaceBytes(const Executable& exe,
                                            const std::map<std::string, int64_t>& symbols,
                                            int threads) {
  std::vector<GemmProblem> shapes;
  for (const Thunk& t : exe.thunks) {
    if (t.kind != ThunkKind::Gemm) continue;
    GemmProblem p;  // shapes only: runGemm's split and the sgemm's blocking read nothing else
    p.f64 = exe.buffers[t.views[2].buffer].dtype == ir::DType::F64;
    p.transA = t.gemm.transA;
    p.transB = t.gemm.transB;
    TRY_ASSIGN(p.m, eval(t.gemm.m, symbols));
    TRY_ASSIGN(p.n, eval(t.gemm.n, symbols));
    TRY_ASSIGN(p.k, eval(t.gemm.k, symbols));
    for (const ir::Dim& d : t.gemm.batch) {
      TRY_ASSIGN(int64_t b, eval(d, symbols));
      p.batch *= b;
    }
    shapes.push_back(p);
  }
  return plannedPackingBytes(shapes, poolThreadsFor(threads), defaultGemmBackend());
}

}  // namespace tessera::codegen
