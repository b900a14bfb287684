// The engine behind codegen/Engine.h: lowering + kernel compilation at compile(), argument
// storage and symbol binding at run(), the CpuRuntime in between.
#include "codegen/Engine.h"

#include <cstdlib>
#include <cstring>

#include "codegen/dist/AsyncSchedule.h"
#include "codegen/dist/RankContext.h"
#include "codegen/fusion/Lowering.h"
#include "codegen/memory/GemmWorkspace.h"
#include "codegen/runtime/CpuRuntime.h"
#include "codegen/runtime/TensorIO.h"

namespace tessera::codegen {

namespace {

struct Storage {
  char* data = nullptr;
  int64_t capacity = 0;
  std::vector<int64_t> shape;
  bool valid = false;

  ~Storage() { std::free(data); }
  bool reserve(int64_t bytes) {
    if (bytes <= capacity && data) return true;
    std::free(data);
    int64_t cap = std::max<int64_t>((bytes + 63) / 64 * 64, 64);
    data = static_cast<char*>(std::aligned_alloc(64, static_cast<size_t>(cap)));
    capacity = data ? cap : 0;
    return data != nullptr;
  }
};

std::string argLabel(const ir::Value* v) {
  return v->name().empty() ? "argument #" + std::to_string(v->resultIndex())
                           : "argument %" + v->name();
}

std::string concreteStr(ir::DType t, const std::vector<int64_t>& shape) {
  std::string s = std::string(ir::dtypeName(t)) + "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

struct Engine::Impl {
  const ir::Module* module = nullptr;
  const ir::Function* function = nullptr;
  EngineOptions options;
  Executable exe;
  std::unique_ptr<KernelCompiler> compiler;
  std::unique_ptr<CpuRuntime> runtime;
  std::vector<Storage> args;
  std::map<int, int> aliases;  // result -> argument
  std::map<std::string, int> argIndex;

  Status fail(const std::string& msg) const {
    return function->loc.known() ? Status::error(function->loc, msg) : Status::error(msg);
  }

  Status storeArgument(int a, const ir::Tensor& t) {
    const ir::Value* v = function->argument(a);
    std::string where = " (" + argLabel(v) + " is declared " + v->type().str() +
                        ", the input is " + concreteStr(t.dtype(), t.shape()) + ")";
    if (t.dtype() != v->type().dtype) return fail("wrong element type for " + argLabel(v) + where);
    if (t.rank() != v->type().rank()) return fail("wrong rank for " + argLabel(v) + where);
    int64_t bytes = t.numElements() * ir::dtypeBytes(t.dtype());
    if (!args[a].reserve(bytes)) return fail("out of memory for " + argLabel(v));
    tensorToBuffer(t, args[a].data);
    args[a].shape = t.shape();
    args[a].valid = true;
    return Status::ok();
  }

  // Stores the given inputs, and module parameters' initial values for arguments never set.
  Status bindArguments(const std::map<std::string, ir::Tensor>& inputs);

  // Binds the symbols from the arguments' current shapes (as the interpreter does).
  StatusOr<std::map<std::string, int64_t>> bindSymbols() const {
    std::map<std::string, int64_t> symbols;
    std::map<std::string, std::string> boundBy;
    for (int a = 0; a < function->numArguments(); ++a) {
      const ir::TensorType& t = function->argument(a)->type();
      for (int d = 0; d < t.rank(); ++d) {
        std::optional<std::string> s = t.shape[d].asSymbol();
        if (!s) continue;
        std::string here = argLabel(function->argument(a)) + " dim " + std::to_string(d);
        auto [it, inserted] = symbols.emplace(*s, args[a].shape[d]);
        if (inserted) boundBy[*s] = here;
        else if (it->second != args[a].shape[d])
          return fail("symbol " + *s + " is " + std::to_string(it->second) + " from " +
                      boundBy[*s] + " but " + std::to_string(args[a].shape[d]) + " from " + here);
      }
    }
    // A dim that is a constant multiple of one symbol (`B/2` in a partitioned program, `2*B`)
    // binds that symbol when no argument dim names it exactly, as the interpreter does; the check
    // below verifies every dim.
    for (int a = 0; a < function->numArguments(); ++a) {
      const ir::TensorType& t = function->argument(a)->type();
      for (int d = 0; d < t.rank(); ++d) {
        const auto& terms = t.shape[d].terms();
        if (terms.size() != 1 || terms.begin()->first.size() != 1) continue;
        const std::string& sym = terms.begin()->first[0];
        const ir::Rational& c = terms.begin()->second;
        if (symbols.count(sym) || c.num <= 0) continue;
        int64_t scaled = args[a].shape[d] * c.den;
        if (scaled % c.num != 0) continue;  // reported by the check below
        symbols.emplace(sym, scaled / c.num);
        boundBy[sym] = argLabel(function->argument(a)) + " dim " + std::to_string(d);
      }
    }
    for (const auto& [name, value] : symbols)
      if (const ir::SymbolDecl* decl = module->findSymbol(name);
          decl && value % decl->divisibleBy != 0)
        return fail("symbol " + name + " = " + std::to_string(value) + " (from " + boundBy[name] +
                    ") is not divisible by " + std::to_string(decl->divisibleBy));
    for (int a = 0; a < function->numArguments(); ++a) {
      const ir::Value* v = function->argument(a);
      for (int d = 0; d < v->type().rank(); ++d) {
        StatusOr<int64_t> e = v->type().shape[d].evaluate(symbols);
        if (!e.isOk())
          return fail(argLabel(v) + " dim " + std::to_string(d) + ": " + e.status().message());
        if (*e != args[a].shape[d])
          return fail("shape mismatch for " + argLabel(v) + ": declared " + v->type().str() +
                      " requires dim " + std::to_string(d) + " = " + std::to_string(*e) +
                      ", the input is " + concreteStr(v->type().dtype, args[a].shape));
      }
    }
    return symbols;
  }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

StatusOr<std::unique_ptr<Engine>> Engine::compile(const ir::Module& m, const std::string& function,
                                                  const EngineOptions& o) {
  TRY_ASSIGN(Executable exe, lowerForPlanning(m, function, o));
  if (o.rank && o.rank->options.async) scheduleAsyncCollectives(exe);
  return load(std::move(exe), o);
}

StatusOr<std::unique_ptr<Engine>> Engine::load(Executable exe, const EngineOptions& o) {
  auto impl = std::make_unique<Impl>();
  impl->exe = std::move(exe);
  const ir::Function* f = impl->exe.function;
  impl->module = f->module();
  impl->function = f;
  impl->options = o;
  std::vector<KernelFn> fns;
  if (o.kernels == EngineOptions::Kernels::Compile && !impl->exe.kernels.empty()) {
    KernelCompilerOptions co;
    co.cacheDir = !o.cacheDir.empty() ? o.cacheDir : o.diskCache ? defaultKernelCacheDir() : "";
    TRY_ASSIGN(impl->compiler, KernelCompiler::create(co));
    StatusOr<std::vector<KernelFn>> compiled = impl->compiler->compile(impl->exe.kernels);
    if (!compiled.isOk()) {
      // Name the op group the failing kernel came from.
      const std::string& msg = compiled.status().message();
      for (const Thunk& t : impl->exe.thunks)
        if (t.kind == ThunkKind::Kernel &&
            msg.find("'" + impl->exe.kernels[t.kernel].name + "'") != std::string::npos) {
          std::string what = "cannot compile the kernel of " + t.label + ": " + msg;
          return t.loc.known() ? Status::error(t.loc, what) : Status::error(what);
        }
      return compiled.status();
    }
    fns = std::move(*compiled);
  }
  impl->runtime = std::make_unique<CpuRuntime>(impl->exe, std::move(fns), o.threads);
  if (o.rank) impl->runtime->setRankContext(o.rank);
  impl->args.resize(f->numArguments());
  for (int a = 0; a < f->numArguments(); ++a) impl->argIndex[f->argument(a)->name()] = a;
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Status Engine::aliasResult(int result, const std::string& argument) {
  auto it = impl_->argIndex.find(argument);
  if (it == impl_->argIndex.end()) return impl_->fail("no argument %" + argument);
  if (result < 0 || result >= static_cast<int>(impl_->function->results().size()))
    return impl_->fail("no result #" + std::to_string(result));
  if (impl_->function->results()[result]->type() != impl_->function->argument(it->second)->type())
    return impl_->fail("result #" + std::to_string(result) + " has type " +
                       impl_->function->results()[result]->type().str() + " but argument %" +
                       argument + " has " + impl_->function->argument(it->second)->type().str());
  impl_->aliases[result] = it->second;
  return Status::ok();
}

Status Engine::setArgument(const std::string& name, const ir::Tensor& value) {
  auto it = impl_->argIndex.find(name);
  if (it == impl_->argIndex.end()) return impl_->fail("no argument %" + name);
  return impl_->storeArgument(it->second, value);
}

StatusOr<ir::Tensor> Engine::readArgument(const std::string& name) const {
  auto it = impl_->argIndex.find(name);
  if (it == impl_->argIndex.end()) return impl_->fail("no argument %" + name);
  const Storage& s = impl_->args[it->second];
  if (!s.valid) return impl_->fail("argument %" + name + " has no value yet");
  return bufferToTensor(s.data, impl_->function->argument(it->second)->type().dtype, s.shape);
}

Status Engine::Impl::bindArguments(const std::map<std::string, ir::Tensor>& inputs) {
  for (const auto& [name, t] : inputs) {
    auto it = argIndex.find(name);
    if (it == argIndex.end()) return fail("no argument %" + name + " in @" + function->name());
    TRY(storeArgument(it->second, t));
  }
  for (int a = 0; a < function->numArguments(); ++a) {
    if (args[a].valid) continue;
    const ir::Value* v = function->argument(a);
    const ir::Parameter* p = module->findParam(v->name());
    if (!p || !p->init)
      return fail("no value for " + argLabel(v) + " (not given, and no module parameter " +
                  "with an initial value has its name)");
    TRY(storeArgument(a, *p->init));
  }
  return Status::ok();
}

StatusOr<std::map<std::string, int64_t>> Engine::symbolsFor(
    const std::map<std::string, ir::Tensor>& inputs) {
  TRY(impl_->bindArguments(inputs));
  return impl_->bindSymbols();
}

StatusOr<std::vector<ir::Tensor>> Engine::run(const std::map<std::string, ir::Tensor>& inputs) {
  Impl& I = *impl_;
  TRY(I.bindArguments(inputs));
  TRY_ASSIGN(auto symbols, I.bindSymbols());
  TRY(I.runtime->prepare(symbols, I.aliases));
  std::vector<void*> ptrs;
  for (Storage& s : I.args) ptrs.push_back(s.data);
  TRY(I.runtime->run(ptrs));
  std::vector<ir::Tensor> out(I.function->results().size());
  const BufferPlan& plan = I.runtime->plan();
  for (size_t r = 0; r < out.size(); ++r) {
    auto al = I.aliases.find(static_cast<int>(r));
    ir::DType dt = I.function->results()[r]->type().dtype;
    std::vector<int64_t> shape = I.runtime->resultShape(static_cast<int>(r));
    if (al == I.aliases.end()) {
      out[r] = bufferToTensor(I.runtime->resultData(static_cast<int>(r)), dt, shape);
      continue;
    }
    Storage& s = I.args[al->second];
    if (!plan.inPlaceResults.count(static_cast<int>(r))) {
      int64_t bytes = ir::numElementsOf(shape) * ir::dtypeBytes(dt);
      // The argument's storage was read during the run; the copy happens after it.
      std::memcpy(s.data, I.runtime->resultData(static_cast<int>(r)), bytes);
    }
    s.shape = shape;
  }
  return out;
}

StatusOr<MemoryReport> Engine::memoryReport(const std::map<std::string, int64_t>& symbols) {
  const Executable& exe = impl_->exe;
  TRY_ASSIGN(BufferPlan p, planBuffers(exe, symbols, impl_->aliases));
  MemoryReport r;
  r.symbols = symbols;
  r.bytesByCategory = p.peakByCategory;
  for (int c = 0; c < kNumMemCategories; ++c) {
    r.bytesByCategory[c] += p.argumentBytesByCategory[c];
    r.argumentBytes += p.argumentBytesByCategory[c];
  }
  r.arenaBytes = p.arenaBytes;
  TRY_ASSIGN(r.gemmWorkspaceBytes,
             plannedGemmWorkspaceBytes(exe, symbols, impl_->runtime->threads()));
  r.bytesByCategory[static_cast<int>(MemCategory::Workspace)] += r.gemmWorkspaceBytes;
  r.peakBytes = r.argumentBytes + r.arenaBytes + r.gemmWorkspaceBytes;
  if (p.peakThunk >= 0) {
    const Thunk& t = exe.thunks[p.peakThunk];
    r.peakAt = "thunk " + std::to_string(p.peakThunk) + " (" + t.label +
               (t.loc.known() ? " at " + t.loc.str() : "") + ")";
  }
  std::vector<int> cands = p.peakLiveBuffers;
  for (size_t b = 0; b < exe.buffers.size(); ++b)
    if (exe.buffers[b].argument >= 0) cands.push_back(static_cast<int>(b));
  std::sort(cands.begin(), cands.end(), [&](int a, int b) {
    return p.bytes[a] != p.bytes[b] ? p.bytes[a] > p.bytes[b] : a < b;
  });
  for (size_t i = 0; i < cands.size() && i < 10; ++i)
    r.largestAtPeak.push_back({exe.buffers[cands[i]].name, exe.buffers[cands[i]].category,
                               p.bytes[cands[i]]});
  return r;
}

int64_t Engine::measuredPeakBytes() const {
  int64_t args = 0;
  for (size_t a = 0; a < impl_->args.size(); ++a)
    if (impl_->args[a].valid)
      args += ir::numElementsOf(impl_->args[a].shape) *
              ir::dtypeBytes(impl_->function->argument(static_cast<int>(a))->type().dtype);
  return args + impl_->runtime->measuredArenaPeak() + impl_->runtime->packingBytesHeld();
}

int64_t Engine::measuredGemmWorkspaceBytes() const { return impl_->runtime->packingBytesHeld(); }

const Executable& Engine::executable() const { return impl_->exe; }

const KernelCompileStats* Engine::compileStats() const {
  return impl_->compiler ? &impl_->compiler->stats() : nullptr;
}

}  // namespace tessera::codegen
