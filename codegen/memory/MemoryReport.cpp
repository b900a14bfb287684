// The printed memory report (MemoryReport::str, declared in codegen/Engine.h).
#include <cstdio>

#include "codegen/Engine.h"

namespace tessera::codegen {

namespace {
std::string human(int64_t bytes) {
  char buf[64];
  if (bytes >= (1 << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", bytes / 1048576.0);
  else if (bytes >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
  else std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  return std::string(buf) + " (" + std::to_string(bytes) + " bytes)";
}
}  // namespace

std::string MemoryReport::str() const {
  std::string s = "memory report";
  if (!symbols.empty()) {
    s += " for";
    for (const auto& [k, v] : symbols) s += " " + k + "=" + std::to_string(v);
  }
  s += "\n";
  s += "  planned peak        " + human(peakBytes) + "\n";
  static const MemCategory order[] = {MemCategory::Parameter, MemCategory::Gradient,
                                      MemCategory::OptimizerState, MemCategory::Activation,
                                      MemCategory::Workspace, MemCategory::Input};
  for (MemCategory c : order) {
    std::string name = memCategoryName(c);
    name.resize(18, ' ');
    s += "    " + name + human(bytesByCategory[static_cast<int>(c)]) + "\n";
  }
  s += "  arena (reused)      " + human(arenaBytes) + "\n";
  s += "  arguments           " + human(argumentBytes) + "\n";
  if (gemmWorkspaceBytes > 0) s += "  gemm packing        " + human(gemmWorkspaceBytes) + "\n";
  if (!peakAt.empty()) s += "  peak at             " + peakAt + "\n";
  s += "  largest live tensors at the peak:\n";
  for (const Entry& e : largestAtPeak)
    s += "    " + human(e.bytes) + "  " + e.name + " (" + memCategoryName(e.category) + ")\n";
  return s;
}

}  // namespace tessera::codegen
