// The compiled CPU engine: the one public header of codegen/ the launcher uses.
//
//   auto engine = Engine::compile(module, "train_step", options);   // lower, fuse, compile
//   engine->aliasResult(1, "wte");          // result 1 is the new value of argument %wte
//   engine->run({{"tokens", t}, {"targets", y}});   // the other arguments keep their values
//
// Arguments live in the engine between runs: an argument not given to run() keeps its last value
// (initially the module parameter of the same name), so a training loop passes only the batch and
// reads back only the loss; parameters are converted once and updated in place (results aliased to
// arguments). Symbols (batch, sequence) are bound from the arguments' shapes at each run; a new
// binding re-plans the buffers but never recompiles a kernel.
//
// The module must outlive the engine (library kernels use its ops' semantics). Errors are
// Statuses naming the op and its location; the engine never crashes on bad input.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "codegen/exec/Executable.h"
#include "codegen/kernel/KernelCompiler.h"
#include "ir/Module.h"

namespace tessera::codegen {

class RankContext;  // codegen/dist/RankContext.h

struct EngineOptions {
  enum class Kernels { Evaluate, Compile };
  Kernels kernels = Kernels::Compile;  // Evaluate: the reference kernel evaluator (tests)
  int threads = 0;                     // 0: one per core
  bool fuse = true;                    // false: one kernel per fusible op (tests)
  bool diskCache = true;               // compiled kernels cached in defaultKernelCacheDir()
  std::string cacheDir;                // overrides the default cache directory when set
  // Argument names by memory category, for the memory report (others count as inputs).
  std::set<std::string> parameters;
  std::set<std::string> optimizerState;
  // One rank of an SPMD program: collectives and axis_index run through it (it must outlive the
  // engine; its options choose async collectives and bucketing). Null: they are errors.
  RankContext* rank = nullptr;
};

struct MemoryReport {
  struct Entry {
    std::string name;
    MemCategory category;
    int64_t bytes;
  };
  std::map<std::string, int64_t> symbols;
  std::vector<int64_t> bytesByCategory;  // at the peak: argument storage + live arena buffers
  int64_t argumentBytes = 0;  // parameters, optimizer state and inputs (outside the arena)
  int64_t arenaBytes = 0;     // the arena: peak of everything else, fragmentation included
  // The own sgemm's packing buffers (codegen/memory/GemmWorkspace.h), held for the engine's
  // life; also counted in bytesByCategory's workspace. 0 when OpenBLAS runs the GEMMs.
  int64_t gemmWorkspaceBytes = 0;
  int64_t peakBytes = 0;      // argumentBytes + arenaBytes + gemmWorkspaceBytes
  std::string peakAt;         // the thunk where the live arena bytes peak
  std::vector<Entry> largestAtPeak;  // the largest live tensors at the peak (arena and arguments)
  std::string str() const;    // the printed report
};

// Planning memory without compiling kernels or running (activation checkpointing's engine-backed
// memory model, launcher/RematChoice.h, compares many variants of one step this way; MemoryTimeline.cpp).
// lowerForPlanning: the Executable Engine::compile would run (same fusion and buffers), without
// LLVM work. planMemoryTimeline: the buffer plan's live bytes at each thunk (argument storage +
// live arena blocks) and its planned peak (arguments + arena, fragmentation included: the
// MemoryReport's peakBytes for the same aliases), with results aliased to arguments as
// Engine::aliasResult would (result -> argument index).
struct MemoryTimeline {
  std::vector<int64_t> liveBytes;  // per thunk
  int64_t peakBytes = 0;
  int64_t argumentBytes = 0;
  std::vector<int64_t> bytesByCategory;  // at the arena's live peak, arguments included
};
StatusOr<Executable> lowerForPlanning(const ir::Module& m, const std::string& function,
                                      const EngineOptions& o);
// `threads`: the engine's EngineOptions::threads, for the GEMM workspace every thunk's live
// bytes include (GemmWorkspace.h).
StatusOr<MemoryTimeline> planMemoryTimeline(const Executable& exe,
                                            const std::map<std::string, int64_t>& symbols,
                                            const std::map<int, int>& resultAliases,
                                            int threads = 0);

class Engine {
 public:
  static StatusOr<std::unique_ptr<Engine>> compile(const ir::Module& m, const std::string& function,
                                                   const EngineOptions& o);
  // An engine for an already lowered Executable (e.g. deserialized; it may own its module).
  static StatusOr<std::unique_ptr<Engine>> load(Executable exe, const EngineOptions& o);
  ~Engine();

  // After every run, argument `argument` takes the value of result `result` (in place when the
  // buffer plan allows, else by a copy), and run() no longer returns that result.
  Status aliasResult(int result, const std::string& argument);
  // Sets an argument's value, kept across runs until set again or passed to run().
  Status setArgument(const std::string& name, const ir::Tensor& value);
  // The current value of an argument (after aliasing: the latest result).
  StatusOr<ir::Tensor> readArgument(const std::string& name) const;

  // Runs the function. Returns one tensor per result; aliased results are left empty.
  StatusOr<std::vector<ir::Tensor>> run(const std::map<std::string, ir::Tensor>& inputs);

  // The planned memory for these symbol values, computed without running.
  StatusOr<MemoryReport> memoryReport(const std::map<std::string, int64_t>& symbols);
  // The symbol values a run with these inputs would bind (arguments not given keep their
  // current or initial values), without running.
  StatusOr<std::map<std::string, int64_t>> symbolsFor(
      const std::map<std::string, ir::Tensor>& inputs);
  // What the runtime really used so far: argument storage + the highest arena byte written +
  // the GEMM packing buffers it holds.
  int64_t measuredPeakBytes() const;
  // The part of it the GEMM packing buffers hold (MemoryReport::gemmWorkspaceBytes planned it).
  int64_t measuredGemmWorkspaceBytes() const;

  const Executable& executable() const;
  const KernelCompileStats* compileStats() const;  // null with Kernels::Evaluate

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::codegen
