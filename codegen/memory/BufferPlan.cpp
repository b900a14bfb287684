// Liveness, in-place decisions and first-fit offsets (see BufferPlan.h).
#include "codegen/memory/BufferPlan.h"

#include <algorithm>
#include <cassert>
#include <set>

namespace tessera::codegen {

int64_t evalDim(const ir::Dim& d, const std::map<std::string, int64_t>& symbols) {
  if (std::optional<int64_t> c = d.constant()) return *c;
  StatusOr<int64_t> v = d.evaluate(symbols);
  assert(v.isOk() && "a symbol the plan did not bind");
  return v.isOk() ? *v : 0;
}

namespace {

constexpr int64_t kAlign = 64;
int64_t alignUp(int64_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

bool sameView(const BufferView& a, const BufferView& b) {
  return a.offset == b.offset && a.strides == b.strides;
}

// Whether a kernel still reads buffer `in` after it stored through view `outView`. A compiled
// kernel (codegen/llvm/KernelLowering.cpp) stores its element-level outputs one after another
// per vector of columns, in body order, and loads an input when the first store needing it is
// computed (later stores reuse the loaded value). So storing output o over `in` is safe only if
// every load of `in` that any later store needs was already needed by o's store or an earlier
// one. A multi-output kernel breaks this when an input is read only by a later output: AdamW's
// update kernel stores v' and then computes p' from the decayed parameter — v' written over the
// decayed parameter's buffer made p' lose it (found with every collective sealing fusion groups,
// which moved the decay into a kernel of its own; see passes/fusion/FusionGroups.cpp).
// Reduction passes and row-level values run before the store loop, so they read first.
bool readAfterStore(const Executable& exe, const Thunk& t, int outView, int in) {
  const KernelDesc& k = exe.kernels[t.kernel];
  const int n = static_cast<int>(k.body.size());
  std::vector<char> reached(n, 0);  // 1: reached by a store up to o's; 2: only by a later one
  bool past = false;
  std::vector<int> stack;
  for (int i = 0; i < n; ++i) {
    const Instr& s = k.body[i];
    if (s.kind != InstrKind::Store || s.rowLevel) continue;
    const char mark = past ? 2 : 1;
    stack.assign(1, s.args[0]);
    while (!stack.empty()) {
      int x = stack.back();
      stack.pop_back();
      if (reached[x]) continue;  // computed by an earlier store: its value is reused
      reached[x] = mark;
      const Instr& ins = k.body[x];
      if (ins.rowLevel) continue;  // computed before the store loop
      if (mark == 2 && ins.kind == InstrKind::Load && t.views[ins.buffer].buffer == in) return true;
      for (int a : ins.args) stack.push_back(a);
    }
    if (s.buffer == outView) past = true;
  }
  return false;
}

// Whether thunk `t` may write its view `outView` over buffer `in` element by element: a kernel
// whose every view of `in` is the view it writes (each element is read before it is written, at
// the same place) and which reads no element of `in` after storing that output.
bool elementwiseOver(const Executable& exe, const Thunk& t, int outView, int in) {
  if (t.kind != ThunkKind::Kernel) return false;
  for (const BufferView& v : t.views)
    if (v.buffer == in && !sameView(v, t.views[outView])) return false;
  return !readAfterStore(exe, t, outView, in);
}

// First-fit over live blocks sorted by offset.
class Arena {
 public:
  int64_t allocate(int64_t bytes) {
    int64_t size = alignUp(std::max<int64_t>(bytes, 1));
    int64_t at = 0;
    for (auto [off, sz] : blocks_) {
      if (off - at >= size) break;
      at = std::max(at, off + sz);
    }
    blocks_.emplace(at, size);
    top_ = std::max(top_, at + size);
    return at;
  }
  void release(int64_t offset) {
    auto it = std::find_if(blocks_.begin(), blocks_.end(),
                           [&](const auto& b) { return b.first == offset; });
    assert(it != blocks_.end());
    blocks_.erase(it);
  }
  int64_t top() const { return top_; }

 private:
  std::set<std::pair<int64_t, int64_t>> blocks_;
  int64_t top_ = 0;
};

}  // namespace

StatusOr<BufferPlan> planBuffers(const Executable& exe,
                                 const std::map<std::string, int64_t>& symbols,
                                 const std::map<int, int>& resultAliases) {
  BufferPlan p;
  p.symbols = symbols;
  size_t nb = exe.buffers.size();
  int nt = static_cast<int>(exe.thunks.size());
  p.bytes.assign(nb, 0);
  p.offset.assign(nb, -1);
  p.storageArgument.assign(nb, -1);
  p.firstUse.assign(nb, -1);
  p.lastUse.assign(nb, -1);
  p.peakByCategory.assign(kNumMemCategories, 0);
  p.argumentBytesByCategory.assign(kNumMemCategories, 0);
  for (size_t b = 0; b < nb; ++b) {
    StatusOr<int64_t> n = exe.buffers[b].elements.evaluate(symbols);
    if (!n.isOk())
      return Status::error("buffer '" + exe.buffers[b].name + "': " + n.status().message());
    p.bytes[b] = *n * ir::dtypeBytes(exe.buffers[b].dtype);
    if (exe.buffers[b].argument >= 0) {
      p.storageArgument[b] = exe.buffers[b].argument;
      p.argumentBytesByCategory[static_cast<int>(exe.buffers[b].category)] += p.bytes[b];
    }
  }
  std::vector<int> writer(nb, -1);
  std::vector<const BufferView*> writeView(nb, nullptr);
  for (int t = 0; t < nt; ++t)
    for (const BufferView& v : exe.thunks[t].views) {
      if (p.firstUse[v.buffer] < 0) p.firstUse[v.buffer] = t;
      p.lastUse[v.buffer] = t;
      if (v.write) {
        writer[v.buffer] = t;
        writeView[v.buffer] = &v;
      }
    }
  std::vector<bool> isResult(nb, false);
  for (int r : exe.resultBuffers) {
    isResult[r] = true;
    p.lastUse[r] = nt;
  }
  // Results written over their argument.
  for (auto [res, arg] : resultAliases) {
    int r = exe.resultBuffers[res], a = exe.argumentBuffers[arg];
    int t = writer[r];
    if (t < 0 || p.bytes[r] != p.bytes[a] || p.lastUse[a] > t) continue;
    bool readHere = false;
    for (const BufferView& v : exe.thunks[t].views) readHere = readHere || v.buffer == a;
    const Thunk& th = exe.thunks[t];
    if (readHere && !elementwiseOver(exe, th, static_cast<int>(writeView[r] - th.views.data()), a))
      continue;
    p.storageArgument[r] = arg;
    p.inPlaceResults[res] = arg;
  }
  // Arena simulation in thunk order.
  Arena arena;
  std::vector<int> slotOwner(nb, -1);  // buffer -> the buffer whose block it occupies
  std::map<int, int> refs;             // block owner -> buffers using it
  std::set<int> live;
  for (int t = 0; t < nt; ++t) {
    const Thunk& th = exe.thunks[t];
    std::set<int> takenInputs;
    for (const BufferView& w : th.views) {
      int r = w.buffer;
      if (!w.write || p.firstUse[r] != t || p.storageArgument[r] >= 0 || slotOwner[r] >= 0)
        continue;
      int reuse = -1;
      for (const BufferView& v : th.views) {
        int in = v.buffer;
        if (v.write || in == r || p.storageArgument[in] >= 0 || isResult[in] ||
            p.lastUse[in] != t || p.bytes[in] != p.bytes[r] || takenInputs.count(in) ||
            slotOwner[in] < 0 ||
            !elementwiseOver(exe, th, static_cast<int>(&w - th.views.data()), in))
          continue;
        reuse = in;
        break;
      }
      if (reuse >= 0) {
        takenInputs.insert(reuse);
        slotOwner[r] = slotOwner[reuse];
        p.offset[r] = p.offset[reuse];
      } else {
        slotOwner[r] = r;
        p.offset[r] = arena.allocate(p.bytes[r]);
      }
      refs[slotOwner[r]]++;
      live.insert(r);
    }
    // Live bytes now: each block once, attributed to its newest buffer.
    std::map<int, int> blockHolder;
    for (int b : live) blockHolder[slotOwner[b]] = b;  // ascending ids: the newest wins
    int64_t total = 0;
    for (auto [owner, b] : blockHolder) total += alignUp(std::max<int64_t>(p.bytes[owner], 1));
    if (total > p.peakLiveBytes) {
      p.peakLiveBytes = total;
      p.peakThunk = t;
      std::fill(p.peakByCategory.begin(), p.peakByCategory.end(), 0);
      p.peakLiveBuffers.clear();
      for (auto [owner, b] : blockHolder) {
        p.peakByCategory[static_cast<int>(exe.buffers[b].category)] +=
            alignUp(std::max<int64_t>(p.bytes[owner], 1));
        p.peakLiveBuffers.push_back(b);
      }
    }
    for (const BufferView& v : th.views) {
      int b = v.buffer;
      if (p.lastUse[b] != t || !live.count(b)) continue;
      live.erase(b);
      if (--refs[slotOwner[b]] == 0) arena.release(p.offset[slotOwner[b]]);
    }
  }
  p.arenaBytes = arena.top();
  std::sort(p.peakLiveBuffers.begin(), p.peakLiveBuffers.end(),
            [&](int a, int b) { return p.bytes[a] != p.bytes[b] ? p.bytes[a] > p.bytes[b] : a < b; });
  return p;
}

}  // namespace tessera::codegen
