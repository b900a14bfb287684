// Per-thunk timing tables (see ThunkProfile.h).
#include "codegen/runtime/ThunkProfile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <tuple>

#include "ir/Op.h"

namespace tessera::codegen {

bool ThunkProfile::enabledByEnvironment() {
  static const bool on = [] {
    const char* v = std::getenv("TESSERA_PROFILE");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return on;
}

void ThunkProfile::beginRun(size_t thunks) {
  if (entries_.size() != thunks) {  // a new executable or a re-plan: start over
    entries_.assign(thunks, Entry{});
    runs_ = 0;
  }
}

void ThunkProfile::add(size_t thunk, const Sample& s) {
  Entry& e = entries_[thunk];
  e.seconds += s.seconds;
  ++e.count;
  e.last = s;
}

namespace {

std::string fmt(const char* f, double a, double b = 0, double c = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c);
  return buf;
}

// The group a thunk's time is charged to in the by-kind table.
std::string category(const Executable& exe, const Thunk& t) {
  switch (t.kind) {
    case ThunkKind::Gemm: return "gemm";
    case ThunkKind::Collective: return "collective";
    case ThunkKind::Library:
      return std::string("library ") +
             (exe.function && t.op >= 0 ? exe.function->ops()[t.op]->mnemonic() : "?");
    case ThunkKind::Kernel:
      if (t.label.rfind("copy", 0) == 0) return "kernel (copy)";
      if (t.label.rfind("leaf", 0) == 0) return "kernel (leaf)";
      return "kernel (fused)";
  }
  return "?";
}

// A short description of what a kernel computes: its buffer counts, reductions and the
// non-trivial functions it calls, e.g. "2 in 1 out; reduce max sum; exp" (a softmax).
std::string sketch(const KernelDesc& d) {
  std::string red, fns;
  for (const Instr& in : d.body) {
    if (in.kind == InstrKind::Reduce) red += std::string(" ") + reduceFnName(in.reduce);
    if (in.kind == InstrKind::Unary && in.unary != UnaryFn::Neg && in.unary != UnaryFn::Not) {
      std::string f = std::string(" ") + unaryFnName(in.unary);
      if (fns.find(f) == std::string::npos) fns += f;
    }
    if (in.kind == InstrKind::Binary && (in.binary == BinaryFn::Div || in.binary == BinaryFn::Pow)) {
      std::string f = std::string(" ") + binaryFnName(in.binary);
      if (fns.find(f) == std::string::npos) fns += f;
    }
  }
  bool strided = false;
  for (const auto* bufs : {&d.inputs, &d.outputs})
    for (const BufferDesc& b : *bufs) strided |= b.inner == InnerAccess::Strided;
  return std::to_string(d.inputs.size()) + " in " + std::to_string(d.outputs.size()) + " out" +
         (red.empty() ? "" : "; reduce" + red) + (fns.empty() ? "" : ";" + fns) +
         (strided ? "; strided" : "");
}

}  // namespace

int64_t ThunkProfile::viewBytes(const std::vector<int64_t>& outer, int64_t cols,
                                const int64_t* strides, bool broadcastInner, int64_t elementBytes) {
  int64_t n = 1;
  for (size_t d = 0; d < outer.size(); ++d)
    if (strides[d] != 0) n *= outer[d];
  if (!broadcastInner && strides[outer.size()] != 0) n *= cols;
  return n * elementBytes;
}

std::string ThunkProfile::report(const Executable& exe) const {
  if (runs_ == 0 || entries_.size() != exe.thunks.size()) return "";
  double runs = static_cast<double>(runs_);
  double total = 0;
  for (const Entry& e : entries_) total += e.seconds;
  total /= runs;
  std::string out = "tessera profile: " + std::to_string(runs_) + " timed run(s), " +
                    fmt("%.2f ms of thunks per run\n", total * 1e3);
  // By kind.
  std::map<std::string, std::pair<double, int64_t>> byKind;
  for (size_t i = 0; i < entries_.size(); ++i) {
    auto& k = byKind[category(exe, exe.thunks[i])];
    k.first += entries_[i].seconds / runs;
    k.second += 1;
  }
  std::vector<std::pair<std::string, std::pair<double, int64_t>>> kinds(byKind.begin(),
                                                                         byKind.end());
  std::sort(kinds.begin(), kinds.end(),
            [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  out += "  by kind (ms/run, % of thunk time, thunks):\n";
  for (const auto& [name, v] : kinds)
    out += fmt("    %9.3f ms %5.1f%%  ", v.first * 1e3, total > 0 ? 100 * v.first / total : 0) +
           std::to_string(v.second) + "  " + name + "\n";
  // GEMMs by shape.
  using Shape = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool>;
  std::map<Shape, std::pair<double, int64_t>> byShape;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Thunk& t = exe.thunks[i];
    if (t.kind != ThunkKind::Gemm || entries_[i].count == 0) continue;
    const Sample& s = entries_[i].last;
    auto& g = byShape[{s.batch, s.m, s.n, s.k, t.gemm.transA, t.gemm.transB}];
    g.first += entries_[i].seconds / runs;
    g.second += 1;
  }
  std::vector<std::pair<Shape, std::pair<double, int64_t>>> shapes(byShape.begin(), byShape.end());
  std::sort(shapes.begin(), shapes.end(),
            [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  if (!shapes.empty()) out += "  GEMMs by shape (batch x m x n x k, transposes; per run):\n";
  for (const auto& [s, v] : shapes) {
    auto [b, m, n, k, ta, tb] = s;
    double flops = 2.0 * b * m * n * k * v.second;
    out += "    " + std::to_string(v.second) + "x " + std::to_string(b) + "x" + std::to_string(m) +
           "x" + std::to_string(n) + "x" + std::to_string(k) + (ta ? " A^T" : "") +
           (tb ? " B^T" : "") +
           fmt("  %.3f ms  %.1f GFLOP/s\n", v.first * 1e3, v.first > 0 ? flops / v.first / 1e9 : 0);
  }
  // Kernels and library calls by signature (the same kernel, or library op, on the same sizes),
  // with the bytes they address and the rate they reach: where the non-GEMM time goes.
  struct Group {
    double seconds = 0;  // per run
    int64_t thunks = 0, bytes = 0;
    std::string what;
  };
  std::map<std::string, int> kernelOfText;  // the first kernel index with a canonical text
  std::map<std::tuple<std::string, int64_t, int64_t>, Group> bySig;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Thunk& t = exe.thunks[i];
    if (entries_[i].count == 0 || t.kind == ThunkKind::Gemm || t.kind == ThunkKind::Collective)
      continue;
    std::string key = category(exe, t), what = key;
    if (t.kind == ThunkKind::Kernel) {
      const KernelDesc& d = exe.kernels[t.kernel];
      key = "k" + std::to_string(kernelOfText.emplace(d.canonicalText(), t.kernel).first->second);
      what = t.label + "  [" + sketch(d) + "]";
    }
    const Sample& s = entries_[i].last;
    Group& g = bySig[{key, s.rows, s.cols}];
    g.seconds += entries_[i].seconds / runs;
    g.thunks += 1;
    g.bytes = s.bytes;
    if (g.what.empty()) g.what = what;
  }
  std::vector<std::pair<std::tuple<std::string, int64_t, int64_t>, Group>> sigs(bySig.begin(),
                                                                              bySig.end());
  std::sort(sigs.begin(), sigs.end(),
            [](const auto& x, const auto& y) { return x.second.seconds > y.second.seconds; });
  if (!sigs.empty())
    out += "  kernels and library calls by signature (ms/run, thunks, rows x cols or elements "
           "in -> out, MB per thunk, GB/s, what):\n";
  for (size_t j = 0; j < std::min<size_t>(sigs.size(), 30); ++j) {
    const auto& [sig, g] = sigs[j];
    bool kernel = std::get<0>(sig)[0] == 'k';
    std::string size = std::to_string(std::get<1>(sig)) + (kernel ? " x " : " -> ") +
                       std::to_string(std::get<2>(sig));
    out += fmt("    %9.3f ms %5.0f  ", g.seconds * 1e3, static_cast<double>(g.thunks)) + size +
           fmt("  %.2f MB  %.2f GB/s  ", g.bytes / 1e6,
               g.seconds > 0 ? static_cast<double>(g.bytes) * g.thunks / g.seconds / 1e9 : 0) +
           g.what + "\n";
  }
  // The costliest thunks.
  std::vector<size_t> order(entries_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return entries_[a].seconds > entries_[b].seconds; });
  out += "  costliest thunks (ms/run):\n";
  for (size_t j = 0; j < std::min<size_t>(order.size(), 40); ++j) {
    size_t i = order[j];
    const Thunk& t = exe.thunks[i];
    const Sample& s = entries_[i].last;
    std::string size =
        t.kind == ThunkKind::Gemm
            ? std::to_string(s.batch) + "x" + std::to_string(s.m) + "x" + std::to_string(s.n) +
                  "x" + std::to_string(s.k)
        : t.kind == ThunkKind::Kernel ? std::to_string(s.rows) + " rows x " + std::to_string(s.cols)
                                      : "";
    out += fmt("    %8.3f  #", entries_[i].seconds / runs * 1e3) + std::to_string(i) + " " +
           t.label + "  " + size + "\n";
  }
  return out;
}

}  // namespace tessera::codegen
