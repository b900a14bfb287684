// Planning the own sgemm's packing workspace from the GEMM thunks (GemmWorkspace.h).
#include "codegen/memory/GemmWorkspace.h"

#include <vector>

#include "codegen/runtime/GemmRunner.h"
#include "codegen/runtime/ThreadPool.h"

namespace tessera::codegen {

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
    TRY_ASSIGN(p.m, t.gemm.m.evaluate(symbols));
    TRY_ASSIGN(p.n, t.gemm.n.evaluate(symbols));
    TRY_ASSIGN(p.k, t.gemm.k.evaluate(symbols));
    for (const ir::Dim& d : t.gemm.batch) {
      TRY_ASSIGN(int64_t b, d.evaluate(symbols));
      p.batch *= b;
    }
    shapes.push_back(p);
  }
  return plannedPackingBytes(shapes, ThreadPool::sizeFor(threads), defaultGemmBackend());
}

}  // namespace tessera::codegen
