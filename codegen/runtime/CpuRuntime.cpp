// Thunk execution on the CPU (see CpuRuntime.h).
#include "codegen/runtime/CpuRuntime.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "codegen/dist/CollectiveRunner.h"
#include "codegen/kernel/KernelEvaluator.h"
#include "codegen/runtime/GemmRunner.h"
#include "codegen/runtime/LibraryKernels.h"

namespace tessera::codegen {

namespace {

// Work below this many elements runs on the calling thread: waking the pool costs more.
constexpr int64_t kParallelElements = 16384;

int64_t viewExtent(const std::vector<int64_t>& extents, const std::vector<int64_t>& strides) {
  int64_t e = 0;
  for (size_t d = 0; d < extents.size(); ++d) {
    if (extents[d] == 0) return 0;
    e += (extents[d] - 1) * std::abs(strides[d]);
  }
  return e + 1;
}

}  // namespace

struct CpuRuntime::Resolved {
  std::vector<int> buffers;
  std::vector<int64_t> byteOffsets;
  std::vector<int64_t> writeExtentBytes;  // per view; 0 for reads
  std::vector<void*> ptrs;
  // kernel
  std::vector<int64_t> outer, strides;
  int64_t cols = 0, rows = 0;
  // gemm
  std::vector<int64_t> batch, batchStrides[3];
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  std::vector<int64_t> batchByteOffsets[3];  // per batch item, of A, B and C
  // library
  std::vector<std::vector<int64_t>> shapes;
};

CpuRuntime::CpuRuntime(const Executable& exe, std::vector<KernelFn> compiled, int threads)
    : exe_(exe), compiled_(std::move(compiled)), pool_(std::make_unique<ThreadPool>(threads)),
      packing_(std::make_unique<gemm::PackingWorkspace>(pool_->size())) {
  // Tessera owns the threads: OpenBLAS computes on whichever pool thread calls it.
  setBlasSingleThreaded();
  if (ThunkProfile::enabledByEnvironment()) profile_ = std::make_unique<ThunkProfile>();
}

CpuRuntime::~CpuRuntime() {
  if (profile_) std::fputs(profile_->report(exe_).c_str(), stderr);
  std::free(arena_);
}

int64_t CpuRuntime::packingBytesHeld() const { return packing_->heldBytes(); }

void CpuRuntime::setRankContext(RankContext* rank) {
  collectives_ = rank ? std::make_unique<CollectiveRunner>(*rank, exe_) : nullptr;
}

Status CpuRuntime::prepare(const std::map<std::string, int64_t>& symbols,
                           const std::map<int, int>& aliases) {
  if (plan_ && plan_->symbols == symbols && aliases_ == aliases) return Status::ok();
  TRY_ASSIGN(BufferPlan p, planBuffers(exe_, symbols, aliases));
  plan_ = std::make_unique<BufferPlan>(std::move(p));
  aliases_ = aliases;
  if (plan_->arenaBytes > arenaCapacity_) {
    std::free(arena_);
    int64_t cap = (plan_->arenaBytes + 63) / 64 * 64;
    arena_ = static_cast<char*>(std::aligned_alloc(64, static_cast<size_t>(std::max<int64_t>(cap, 64))));
    if (!arena_) {
      arenaCapacity_ = 0;
      return Status::error("cannot allocate the " + std::to_string(cap) + "-byte arena");
    }
    arenaCapacity_ = cap;
  }
  auto ev = [&](const ir::Dim& d) { return evalDim(d, symbols); };
  resolved_.clear();
  for (const Thunk& t : exe_.thunks) {
    auto r = std::make_unique<Resolved>();
    for (const BufferView& v : t.views) {
      r->buffers.push_back(v.buffer);
      r->byteOffsets.push_back(ev(v.offset) * ir::dtypeBytes(exe_.buffers[v.buffer].dtype));
      std::vector<int64_t> shape;
      for (const ir::Dim& d : v.shape) shape.push_back(ev(d));
      r->shapes.push_back(shape);
    }
    r->ptrs.resize(t.views.size());
    r->writeExtentBytes.assign(t.views.size(), 0);
    switch (t.kind) {
      case ThunkKind::Kernel: {
        for (const ir::Dim& d : t.outer) r->outer.push_back(ev(d));
        r->cols = ev(t.cols);
        r->rows = 1;
        for (int64_t e : r->outer) r->rows *= e;
        std::vector<int64_t> extents = r->outer;
        extents.push_back(r->cols);
        for (size_t i = 0; i < t.views.size(); ++i) {
          std::vector<int64_t> st;
          for (const ir::Dim& d : t.views[i].strides) st.push_back(ev(d));
          r->strides.insert(r->strides.end(), st.begin(), st.end());
          if (t.views[i].write)
            r->writeExtentBytes[i] =
                viewExtent(extents, st) * ir::dtypeBytes(exe_.buffers[t.views[i].buffer].dtype);
        }
        break;
      }
      case ThunkKind::Gemm: {
        for (const ir::Dim& d : t.gemm.batch) r->batch.push_back(ev(d));
        for (int o = 0; o < 3; ++o)
          for (const ir::Dim& d : t.views[o].strides) r->batchStrides[o].push_back(ev(d));
        r->m = ev(t.gemm.m);
        r->n = ev(t.gemm.n);
        r->k = ev(t.gemm.k);
        r->lda = std::max<int64_t>(ev(t.gemm.lda), t.gemm.transA ? r->m : r->k);
        r->ldb = std::max<int64_t>(ev(t.gemm.ldb), t.gemm.transB ? r->k : r->n);
        r->ldc = std::max<int64_t>(ev(t.gemm.ldc), r->n);
        r->lda = std::max<int64_t>(r->lda, 1);
        r->ldb = std::max<int64_t>(r->ldb, 1);
        r->ldc = std::max<int64_t>(r->ldc, 1);
        std::vector<int64_t> ext = r->batch;
        ext.push_back(r->m);
        ext.push_back(r->n);
        std::vector<int64_t> st = r->batchStrides[2];
        st.push_back(r->ldc);
        st.push_back(1);
        r->writeExtentBytes[2] =
            viewExtent(ext, st) * ir::dtypeBytes(exe_.buffers[t.views[2].buffer].dtype);
        int64_t nb = 1;
        for (int64_t b : r->batch) nb *= b;
        for (int o = 0; o < 3; ++o) {
          int64_t esz = ir::dtypeBytes(exe_.buffers[t.views[o].buffer].dtype);
          r->batchByteOffsets[o].resize(static_cast<size_t>(std::max<int64_t>(nb, 0)));
          for (int64_t i = 0; i < nb; ++i) {
            int64_t off = 0;
            for (size_t d = r->batch.size(), rest = static_cast<size_t>(i); d-- > 0;) {
              off += static_cast<int64_t>(rest % r->batch[d]) * r->batchStrides[o][d];
              rest /= r->batch[d];
            }
            r->batchByteOffsets[o][i] = off * esz;
          }
        }
        break;
      }
      case ThunkKind::Library:
      case ThunkKind::Collective:
        for (size_t i = 0; i < t.views.size(); ++i)
          if (t.views[i].write)
            r->writeExtentBytes[i] = ir::numElementsOf(r->shapes[i]) *
                                     ir::dtypeBytes(exe_.buffers[t.views[i].buffer].dtype);
        break;
    }
    TRY(checkBounds(t, *r, symbols));
    resolved_.push_back(std::move(r));
  }
  return Status::ok();
}

// Every element a thunk can address lies inside its buffer: a corrupt or hostile executable gets
// an error here instead of touching memory it does not own.
Status CpuRuntime::checkBounds(const Thunk& t, const Resolved& r,
                               const std::map<std::string, int64_t>& symbols) const {
  for (size_t v = 0; v < t.views.size(); ++v) {
    const BufferView& bv = t.views[v];
    int64_t esz = ir::dtypeBytes(exe_.buffers[bv.buffer].dtype);
    int64_t size = evalDim(exe_.buffers[bv.buffer].elements, symbols);
    int64_t lo = r.byteOffsets[v] / esz, hi = lo;
    auto span = [&](int64_t extent, int64_t stride) {
      if (extent <= 0) return false;
      (stride < 0 ? lo : hi) += (extent - 1) * stride;
      return true;
    };
    bool empty = false;
    switch (t.kind) {
      case ThunkKind::Kernel: {
        size_t k = r.outer.size();
        for (size_t d = 0; d <= k; ++d)
          empty |= !span(d < k ? r.outer[d] : r.cols, r.strides[v * (k + 1) + d]);
        break;
      }
      case ThunkKind::Gemm: {
        for (size_t d = 0; d < r.batch.size(); ++d) empty |= !span(r.batch[d], r.batchStrides[v][d]);
        const GemmInfo& g = t.gemm;
        int64_t rows = v == 0 ? (g.transA ? r.k : r.m) : v == 1 ? (g.transB ? r.n : r.k) : r.m;
        int64_t cols = v == 0 ? (g.transA ? r.m : r.k) : v == 1 ? (g.transB ? r.k : r.n) : r.n;
        int64_t ld = v == 0 ? r.lda : v == 1 ? r.ldb : r.ldc;
        empty |= !span(rows, ld);
        empty |= !span(cols, 1);
        break;
      }
      default: empty |= !span(ir::numElementsOf(r.shapes[v]), 1); break;
    }
    if (!empty && (lo < 0 || hi >= size))
      return Status::error("thunk '" + t.label + "' addresses elements [" + std::to_string(lo) +
                           ", " + std::to_string(hi) + "] of buffer '" +
                           exe_.buffers[bv.buffer].name + "', which has " + std::to_string(size));
  }
  return Status::ok();
}

Status CpuRuntime::run(const std::vector<void*>& argStorage) {
  assert(plan_ && "prepare() first");
  base_.assign(exe_.buffers.size(), nullptr);
  for (size_t b = 0; b < exe_.buffers.size(); ++b) {
    int a = plan_->storageArgument[b];
    base_[b] = a >= 0 ? static_cast<char*>(argStorage[a]) : arena_ + std::max<int64_t>(plan_->offset[b], 0);
  }
  // The first run is not timed: it pays the page faults of a fresh arena and cold caches.
  bool timed = profile_ && runs_ > 0;
  if (timed) profile_->beginRun(exe_.thunks.size());
  for (size_t i = 0; i < exe_.thunks.size(); ++i) {
    Resolved& r = *resolved_[i];
    for (size_t v = 0; v < r.ptrs.size(); ++v) {
      char* p = base_[r.buffers[v]] + r.byteOffsets[v];
      r.ptrs[v] = p;
      if (r.writeExtentBytes[v] > 0 && p >= arena_ && p < arena_ + arenaCapacity_)
        measuredArenaPeak_ = std::max<int64_t>(measuredArenaPeak_, p - arena_ + r.writeExtentBytes[v]);
    }
    if (collectives_) collectives_->poll();  // communication in flight progresses
    if (timed) {
      auto t0 = std::chrono::steady_clock::now();
      TRY(runThunk(i));
      ThunkProfile::Sample s;
      s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      s.batch = 1;
      for (int64_t b : r.batch) s.batch *= b;
      s.m = r.m;
      s.n = r.n;
      s.k = r.k;
      s.rows = r.rows;
      s.cols = r.cols;
      profileBytes(i, s);
      profile_->add(i, s);
    } else {
      TRY(runThunk(i));
    }
  }
  if (timed) profile_->endRun();
  ++runs_;
  return Status::ok();
}

// The bytes (and for a library call the elements in and out) the profile reports for thunk i.
void CpuRuntime::profileBytes(size_t i, ThunkProfile::Sample& s) const {
  const Thunk& t = exe_.thunks[i];
  const Resolved& r = *resolved_[i];
  size_t k = r.outer.size();
  if (t.kind == ThunkKind::Kernel) {
    const KernelDesc& d = exe_.kernels[t.kernel];
    for (size_t v = 0; v < t.views.size(); ++v) {
      const BufferDesc& b = v < d.inputs.size() ? d.inputs[v] : d.outputs[v - d.inputs.size()];
      s.bytes += ThunkProfile::viewBytes(r.outer, r.cols, &r.strides[v * (k + 1)],
                                         b.inner == InnerAccess::Broadcast,
                                         ir::dtypeBytes(exe_.buffers[r.buffers[v]].dtype));
    }
  } else if (t.kind == ThunkKind::Library) {
    s.rows = s.cols = 0;
    for (size_t v = 0; v < t.views.size(); ++v) {
      int64_t n = ir::numElementsOf(r.shapes[v]);
      (t.views[v].write ? s.cols : s.rows) += n;
      s.bytes += n * ir::dtypeBytes(exe_.buffers[r.buffers[v]].dtype);
    }
  }
}

void* CpuRuntime::resultData(int i) const { return base_[exe_.resultBuffers[i]]; }

std::vector<int64_t> CpuRuntime::resultShape(int i) const {
  std::vector<int64_t> s;
  for (const ir::Dim& d : exe_.function->results()[i]->type().shape)
    s.push_back(evalDim(d, plan_->symbols));
  return s;
}

Status CpuRuntime::runThunk(size_t i) {
  const Thunk& t = exe_.thunks[i];
  Resolved& r = *resolved_[i];
  switch (t.kind) {
    case ThunkKind::Kernel: {
      if (r.rows == 0) return Status::ok();
      KernelArgs args;
      args.buffers = r.ptrs.data();
      args.outerExtents = r.outer.data();
      args.cols = r.cols;
      args.strides = r.strides.data();
      KernelFn fn = compiled_.empty() ? nullptr : compiled_[t.kernel];
      const KernelDesc& desc = exe_.kernels[t.kernel];
      auto body = [&](int64_t b, int64_t e) {
        if (fn) fn(&args, b, e);
        else evaluateKernel(desc, args, b, e);
      };
      if (r.rows >= 2 && r.rows * std::max<int64_t>(r.cols, 1) >= kParallelElements)
        pool_->parallelFor(r.rows, body);
      else
        body(0, r.rows);
      return Status::ok();
    }
    case ThunkKind::Gemm: {
      GemmProblem p;
      p.f64 = exe_.buffers[r.buffers[2]].dtype == ir::DType::F64;
      p.transA = t.gemm.transA;
      p.transB = t.gemm.transB;
      p.m = r.m;
      p.n = r.n;
      p.k = r.k;
      p.lda = r.lda;
      p.ldb = r.ldb;
      p.ldc = r.ldc;
      p.a = static_cast<const char*>(r.ptrs[0]);
      p.b = static_cast<const char*>(r.ptrs[1]);
      p.c = static_cast<char*>(r.ptrs[2]);
      p.batch = static_cast<int64_t>(r.batchByteOffsets[2].size());
      for (int o = 0; o < 3; ++o) p.offsets[o] = &r.batchByteOffsets[o];
      p.workspace = packing_.get();
      runGemm(p, *pool_);
      return Status::ok();
    }
    case ThunkKind::Library: {
      const ir::Op& op = *exe_.function->ops()[t.op];
      std::vector<HostArray> in, out;
      for (size_t v = 0; v < t.views.size(); ++v) {
        HostArray h{r.ptrs[v], exe_.buffers[r.buffers[v]].dtype, r.shapes[v]};
        (t.views[v].write ? out : in).push_back(std::move(h));
      }
      return runLibraryOp(op, in, out, plan_->symbols, pool_.get());
    }
    case ThunkKind::Collective: {
      const ir::Op& op = *exe_.function->ops()[t.op];
      if (collectives_) {
        std::vector<HostArray> in, out;
        for (size_t v = 0; v < t.views.size(); ++v) {
          HostArray h{r.ptrs[v], exe_.buffers[r.buffers[v]].dtype, r.shapes[v]};
          (t.views[v].write ? out : in).push_back(std::move(h));
        }
        return collectives_->run(i, in, out);
      }
      std::string msg = std::string("'") + op.mnemonic() +
                        "' needs the distributed runtime, which the compiled engine does not "
                        "have yet; run this program with --engine=interp";
      return op.loc().known() ? Status::error(op.loc(), msg) : Status::error(msg);
    }
  }
  return Status::ok();
}

}  // namespace tessera::codegen
