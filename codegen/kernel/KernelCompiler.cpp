// KernelCompiler on LLVM 16: lowers each description to IR (codegen/llvm/KernelLowering), optimizes
// it at O2 with the vectorizers off (the code is already vectorized explicitly), emits an object
// with the host TargetMachine, caches the object on disk, and links it into one ORC LLJIT.
//
// A kernel is identified by its key: canonicalText + target + LLVM version + cache format. The key
// names the disk file and the JIT symbol, so identical descriptions share one function.
#include "codegen/kernel/KernelCompiler.h"

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "codegen/llvm/KernelLowering.h"
#include "codegen/llvm/ObjectCache.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Transforms/InstCombine/InstCombine.h"
#include "llvm/Transforms/Scalar/EarlyCSE.h"
#include "llvm/Transforms/Scalar/GVN.h"
#include "llvm/Transforms/Scalar/LICM.h"
#include "llvm/Transforms/Scalar/SimplifyCFG.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

namespace tessera::codegen {

namespace {

// Part of every cache key: bump it whenever the lowering (codegen/llvm/) generates different code
// for the same description, so that no run loads an object compiled by an older lowering.
// (The cache directory is shared by every build on a machine, so a build of a half-finished
// lowering can fill it too.) 3: erfc's exp(-x^2) correction factor as a short series
// (VectorMath.cpp); short rows keep the last reduction pass's transcendental values for the store
// loop; the last pass prefetches the next row (KernelLowering.cpp).
constexpr const char* kCacheFormat = "tessera-kernel-object-3";

std::string errText(llvm::Error e) { return llvm::toString(std::move(e)); }

class LlvmKernelCompiler final : public KernelCompiler {
 public:
  LlvmKernelCompiler(llvm::orc::JITTargetMachineBuilder jtmb, std::unique_ptr<llvm::orc::LLJIT> jit,
                     std::unique_ptr<llvm::TargetMachine> tm, std::string cacheDir,
                     std::string target, std::string keyTarget, int vectorWidth, int optLevel)
      : jtmb_(std::move(jtmb)), jit_(std::move(jit)), tm_(std::move(tm)),
        cache_(std::move(cacheDir)), target_(std::move(target)), keyTarget_(std::move(keyTarget)),
        vectorWidth_(vectorWidth),
        optLevel_(optLevel) {}

  StatusOr<std::vector<KernelFn>> compile(const std::vector<KernelDesc>& kernels) override;
  const KernelCompileStats& stats() const override { return stats_; }
  std::string targetDescription() const override { return target_; }

 private:
  StatusOr<std::vector<char>> compileToObject(const KernelDesc& d, const std::string& symbol);
  void warnOnce(const std::string& w) {
    for (const std::string& s : stats_.warnings)
      if (s == w) return;
    stats_.warnings.push_back(w);
  }

  llvm::orc::JITTargetMachineBuilder jtmb_;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::unique_ptr<llvm::TargetMachine> tm_;
  llvmgen::ObjectCache cache_;
  std::string target_;
  std::string keyTarget_;  // triple, CPU and the full feature string
  int vectorWidth_;
  int optLevel_;
  KernelCompileStats stats_;
  std::unordered_map<std::string, KernelFn> loaded_;  // key → function
};

StatusOr<std::vector<char>> LlvmKernelCompiler::compileToObject(const KernelDesc& d,
                                                                const std::string& symbol) {
  llvm::LLVMContext ctx;
  auto m = std::make_unique<llvm::Module>(symbol, ctx);
  m->setDataLayout(tm_->createDataLayout());
  m->setTargetTriple(tm_->getTargetTriple().str());
  llvmgen::lowerKernel(d, *m, symbol, vectorWidth_);
  std::string verifyErrors;
  llvm::raw_string_ostream vs(verifyErrors);
  if (llvm::verifyModule(*m, &vs))
    return Status::error("kernel '" + d.name + "': generated invalid LLVM IR: " + vs.str());

  if (optLevel_ > 0) {
    // A short function pipeline, not the O2 module pipeline: the lowering already emits
    // vectorized, straight-line loop bodies, and the full pipeline costs ~7x the compile time
    // (measured) for no measurable speed. What is left to do: fold, CSE, hoist the invariant
    // splats and address computations out of the j loops.
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm_.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::FunctionPassManager fpm;
    fpm.addPass(llvm::EarlyCSEPass());
    fpm.addPass(llvm::InstCombinePass());
    fpm.addPass(llvm::createFunctionToLoopPassAdaptor(llvm::LICMPass(llvm::LICMOptions()),
                                                      /*UseMemorySSA=*/true));
    if (optLevel_ >= 2) fpm.addPass(llvm::GVNPass());
    fpm.addPass(llvm::SimplifyCFGPass());
    llvm::ModulePassManager mpm;
    mpm.addPass(llvm::createModuleToFunctionPassAdaptor(std::move(fpm)));
    mpm.run(*m, mam);
  }

  // TESSERA_KERNEL_DUMP=1 prints each kernel's optimized IR to stderr (for debugging the lowering).
  if (const char* dump = std::getenv("TESSERA_KERNEL_DUMP"); dump && *dump == '1') {
    llvm::errs() << "; kernel '" << d.name << "'\n";
    m->print(llvm::errs(), nullptr);
  }

  llvm::SmallVector<char, 0> buf;
  llvm::raw_svector_ostream os(buf);
  llvm::legacy::PassManager pm;
  if (tm_->addPassesToEmitFile(pm, os, nullptr, llvm::CGFT_ObjectFile))
    return Status::error("kernel '" + d.name + "': the target cannot emit object files");
  pm.run(*m);
  return std::vector<char>(buf.begin(), buf.end());
}

StatusOr<std::vector<KernelFn>> LlvmKernelCompiler::compile(const std::vector<KernelDesc>& kernels) {
  std::vector<KernelFn> out;
  out.reserve(kernels.size());
  for (const KernelDesc& original : kernels) {
    KernelDesc d = original;
    std::string err = d.validate();
    if (!err.empty()) return Status::error("invalid kernel description: " + err);
    std::string key = d.canonicalText() + "target " + keyTarget_ + "\nllvm " LLVM_VERSION_STRING "\n" +
                      kCacheFormat + "\nopt " + std::to_string(optLevel_) + "\n";
    if (auto it = loaded_.find(key); it != loaded_.end()) {
      ++stats_.memoryHits;
      out.push_back(it->second);
      continue;
    }
    std::string symbol = "tessera_kernel_" + llvmgen::ObjectCache::digest(key);
    std::vector<char> object;
    llvmgen::ObjectCache::Lookup hit = cache_.load(key, object);
    if (hit == llvmgen::ObjectCache::Lookup::Hit) {
      ++stats_.diskHits;
    } else {
      if (hit == llvmgen::ObjectCache::Lookup::Corrupt) ++stats_.corruptCacheEntries;
      auto start = std::chrono::steady_clock::now();
      TRY_ASSIGN(object, compileToObject(d, symbol));
      stats_.compileSeconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++stats_.compiled;
      if (auto warning = cache_.store(key, object)) warnOnce(*warning);
    }
    auto mb = llvm::MemoryBuffer::getMemBufferCopy(llvm::StringRef(object.data(), object.size()),
                                                   symbol);
    if (llvm::Error e = jit_->addObjectFile(std::move(mb)))
      return Status::error("kernel '" + d.name + "': cannot load its object: " + errText(std::move(e)));
    auto addr = jit_->lookup(symbol);
    if (!addr)
      return Status::error("kernel '" + d.name + "': cannot link: " + errText(addr.takeError()));
    KernelFn fn = addr->toPtr<KernelFn>();
    loaded_[key] = fn;
    out.push_back(fn);
  }
  return out;
}

}  // namespace

std::string defaultKernelCacheDir() {
  if (const char* d = std::getenv("TESSERA_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/tessera/kernels";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/tessera/kernels";
  return "";
}

StatusOr<std::unique_ptr<KernelCompiler>> KernelCompiler::create(const KernelCompilerOptions& o) {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  auto jtmbOr = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmbOr) return Status::error("kernel compiler: cannot detect the host: " + errText(jtmbOr.takeError()));
  llvm::orc::JITTargetMachineBuilder jtmb = std::move(*jtmbOr);
  std::string cpu;
  if (!o.cpuOverride.empty()) {
    // Check the name first: LLVM would only print a warning for an unknown CPU.
    auto hostTm = jtmb.createTargetMachine();
    if (!hostTm) return Status::error("kernel compiler: " + errText(hostTm.takeError()));
    if (!(*hostTm)->getMCSubtargetInfo()->isCPUStringValid(o.cpuOverride))
      return Status::error("kernel compiler: unknown target CPU '" + o.cpuOverride + "'");
    cpu = o.cpuOverride;
    jtmb.setCPU(cpu);
    jtmb.getFeatures() = llvm::SubtargetFeatures();  // the CPU name implies its features
  } else {
    cpu = llvm::sys::getHostCPUName().str();
  }
  jtmb.setRelocationModel(llvm::Reloc::PIC_);
  jtmb.setCodeModel(llvm::CodeModel::Small);
  jtmb.setCodeGenOptLevel(o.optLevel >= 2 ? llvm::CodeGenOpt::Default : llvm::CodeGenOpt::Less);
  jtmb.getOptions().AllowFPOpFusion = llvm::FPOpFusion::Strict;  // no FMA contraction
  auto tmOr = jtmb.createTargetMachine();
  if (!tmOr) return Status::error("kernel compiler: unknown target CPU '" + cpu + "': " + errText(tmOr.takeError()));
  std::unique_ptr<llvm::TargetMachine> tm = std::move(*tmOr);
  const llvm::MCSubtargetInfo* sti = tm->getMCSubtargetInfo();
  int width = 4;
  std::string vec = "+sse2";
  if (sti->checkFeatures("+avx512f")) width = 16, vec = "+avx512f";
  else if (sti->checkFeatures("+avx2")) width = 8, vec = "+avx2";
  // The cache key covers the full feature string; the description stays readable.
  std::string target = cpu + " " + vec;
  std::string fullTarget = tm->getTargetTriple().str() + " " + cpu + " " +
                           tm->getTargetFeatureString().str();

  auto jitOr = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).create();
  if (!jitOr) return Status::error("kernel compiler: cannot start the JIT: " + errText(jitOr.takeError()));
  std::unique_ptr<llvm::orc::LLJIT> jit = std::move(*jitOr);
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      jit->getDataLayout().getGlobalPrefix());
  if (!gen) return Status::error("kernel compiler: " + errText(gen.takeError()));
  jit->getMainJITDylib().addGenerator(std::move(*gen));
  auto c = std::make_unique<LlvmKernelCompiler>(std::move(jtmb), std::move(jit), std::move(tm),
                                                o.cacheDir, target, fullTarget, width, o.optLevel);
  return std::unique_ptr<KernelCompiler>(std::move(c));
}

}  // namespace tessera::codegen
