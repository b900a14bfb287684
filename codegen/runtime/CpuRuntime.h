// The CPU device runtime: runs an Executable's thunks in order on one arena.
//
// prepare() binds the symbols: it evaluates every shape, stride and offset once, plans the
// buffers (codegen/memory/BufferPlan.h) and allocates the arena; a run with the same symbols
// reuses all of it, so a step allocates nothing. run() takes the storage of every argument
// (owned by the caller: the engine keeps parameters there between steps) and leaves the results
// in the arena, or in their argument's storage for results planned in place.
//
// The runtime's allocator measures what it really used: the highest arena byte any thunk wrote,
// from the actual pointers, and the argument storage it was given. The memory report states the
// plan; tests compare the two.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "codegen/exec/Executable.h"
#include "codegen/memory/BufferPlan.h"
#include "codegen/runtime/ThreadPool.h"
#include "codegen/runtime/ThunkProfile.h"
#include "codegen/runtime/gemm/Workspace.h"

namespace tessera::codegen {

class RankContext;
class CollectiveRunner;

// One kernel's entry (a compiled KernelFn, or the evaluator when none).
struct KernelEntry {
  KernelFn compiled = nullptr;
  const KernelDesc* desc = nullptr;
};

class CpuRuntime {
 public:
  // `compiled`: one entry per kernel, or empty to use the kernel evaluator for all.
  CpuRuntime(const Executable& exe, std::vector<KernelFn> compiled, int threads);
  ~CpuRuntime();

  // Binds the symbols (and the in-place result requests); cheap when they did not change.
  Status prepare(const std::map<std::string, int64_t>& symbols, const std::map<int, int>& aliases);
  const BufferPlan& plan() const { return *plan_; }
  bool prepared() const { return plan_ != nullptr; }

  // Collective thunks run on this rank of a mesh (codegen/dist/CollectiveRunner.h); without a
  // rank context they are errors. Call before the first run.
  void setRankContext(RankContext* rank);

  // Runs every thunk. argStorage[i] is argument i's data (sized for the bound symbols).
  Status run(const std::vector<void*>& argStorage);
  // Where result i is after run().
  void* resultData(int i) const;
  std::vector<int64_t> resultShape(int i) const;

  // The highest arena byte written by any run so far (0 before the first run).
  int64_t measuredArenaPeak() const { return measuredArenaPeak_; }
  ThreadPool& pool() { return *pool_; }
  int threads() const { return pool_->size(); }
  // Bytes the own sgemm's packing buffers hold now (one slot per pool thread, grown to the
  // largest GEMM each slot ran; gemm/Workspace.h). 0 while OpenBLAS runs the GEMMs.
  int64_t packingBytesHeld() const;

 private:
  struct Resolved;
  Status runThunk(size_t i);
  void profileBytes(size_t i, ThunkProfile::Sample& s) const;
  Status checkBounds(const Thunk& t, const Resolved& r,
                     const std::map<std::string, int64_t>& symbols) const;

  const Executable& exe_;
  std::vector<KernelFn> compiled_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<gemm::PackingWorkspace> packing_;  // the own sgemm's buffers, one slot a thread
  std::unique_ptr<BufferPlan> plan_;
  std::map<int, int> aliases_;
  std::vector<std::unique_ptr<Resolved>> resolved_;
  char* arena_ = nullptr;
  int64_t arenaCapacity_ = 0;
  std::vector<char*> base_;  // per buffer, for the current run
  int64_t measuredArenaPeak_ = 0;
  std::unique_ptr<CollectiveRunner> collectives_;  // set by setRankContext
  // TESSERA_PROFILE: per-thunk times (ThunkProfile.h), printed when the runtime is destroyed.
  std::unique_ptr<ThunkProfile> profile_;
  int64_t runs_ = 0;
};

}  // namespace tessera::codegen
